import SmartCard

/// A minimal ISO 7816-4 card: applications selected by AID, transparent files selected by file
/// identifier, read in plain with READ BINARY. No access control. The bench uses it to stand for a
/// card before any eMRTD logic is involved.
public final class FileSystemApplet: CardApplet {
    /// Files outside any application (the master file's children).
    public let masterFiles: [UInt16: [UInt8]]
    /// Applications by AID, each with its files.
    public let applications: [[UInt8]: [UInt16: [UInt8]]]
    private var currentApplication: [UInt8]?
    private var currentFile: [UInt8]?

    public init(masterFiles: [UInt16: [UInt8]] = [:], applications: [[UInt8]: [UInt16: [UInt8]]] = [:]) {
        self.masterFiles = masterFiles
        self.applications = applications
    }

    public func reset() {
        currentApplication = nil
        currentFile = nil
    }

    public func process(_ command: CommandAPDU) -> ResponseAPDU {
        guard command.cla & 0x0C == 0 else { return ResponseAPDU(statusWord: StatusWord(0x6882)) }
        switch command.ins {
        case 0xA4: return select(command)
        case 0xB0: return readBinary(command)
        default: return ResponseAPDU(statusWord: .insNotSupported)
        }
    }

    private func select(_ command: CommandAPDU) -> ResponseAPDU {
        switch command.p1 {
        case 0x04:
            guard applications[command.data] != nil else { return ResponseAPDU(statusWord: .fileNotFound) }
            currentApplication = command.data
            currentFile = nil
            return ResponseAPDU(statusWord: .success)
        case 0x00, 0x02:
            guard command.data.count == 2 else { return ResponseAPDU(statusWord: .incorrectData) }
            let fid = UInt16(command.data[0]) << 8 | UInt16(command.data[1])
            if command.p1 == 0x00 && fid == 0x3F00 {
                currentApplication = nil
                currentFile = nil
                return ResponseAPDU(statusWord: .success)
            }
            let files = currentApplication.flatMap { applications[$0] } ?? masterFiles
            guard let file = files[fid] ?? masterFiles[fid] else { return ResponseAPDU(statusWord: .fileNotFound) }
            currentFile = file
            return ResponseAPDU(statusWord: .success)
        default:
            return ResponseAPDU(statusWord: .incorrectP1P2)
        }
    }

    private func readBinary(_ command: CommandAPDU) -> ResponseAPDU {
        guard let file = currentFile else { return ResponseAPDU(statusWord: StatusWord(0x6986)) }
        guard command.p1 & 0x80 == 0 else { return ResponseAPDU(statusWord: .functionNotSupported) }
        let offset = Int(command.p1) << 8 | Int(command.p2)
        guard offset <= file.count else { return ResponseAPDU(statusWord: .wrongP1P2) }
        let wanted = command.le ?? CommandAPDU.maxShortLe
        let end = min(file.count, offset + wanted)
        let data = Array(file[offset..<end])
        return ResponseAPDU(data: data, statusWord: end - offset < wanted ? .warningEndOfFile : .success)
    }
}
