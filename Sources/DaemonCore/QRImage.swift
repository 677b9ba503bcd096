import CQRencode
import EnrollAPIModel
import Foundation

/// A presentation token drawn as a QR code (libqrencode, error correction M, 8-bit mode) and rendered as PNG or SVG.
/// The token is ASCII and at most 200 bytes; the symbol is at most version 10 (57 modules), so images stay small.
struct QRImage {
    /// Modules per side and whether each is dark, row by row.
    let size: Int
    let dark: [Bool]

    init(_ text: String) throws(Problem) {
        guard text.utf8.count <= 200, let symbol = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else {
            throw Problem(.internalError, detail: "the QR code could not be drawn")
        }
        defer { QRcode_free(symbol) }
        let width = Int(symbol.pointee.width)
        size = width
        dark = (0..<(width * width)).map { symbol.pointee.data[$0] & 1 == 1 }
    }

    /// An SVG with a four-module quiet zone.
    var svg: String {
        let side = size + 8
        var path = ""
        for y in 0..<size {
            for x in 0..<size where dark[y * size + x] { path += "M\(x + 4) \(y + 4)h1v1h-1z" }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="\(side * 8)" \
            height="\(side * 8)" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/>\
            <path d="\(path)" fill="#000"/></svg>

            """
    }

    /// An 8-bit greyscale PNG, `scale` pixels per module, four modules of quiet zone (zlib stored blocks: no
    /// compression library needed, and the image is a few tens of KiB).
    func png(scale: Int = 8) -> [UInt8] {
        let side = (size + 8) * scale
        var raw: [UInt8] = []
        raw.reserveCapacity(side * (side + 1))
        for row in 0..<side {
            raw.append(0)
            let y = row / scale - 4
            for column in 0..<side {
                let x = column / scale - 4
                let isDark = x >= 0 && y >= 0 && x < size && y < size && dark[y * size + x]
                raw.append(isDark ? 0 : 255)
            }
        }
        var header: [UInt8] = []
        header += Self.bigEndian(UInt32(side)) + Self.bigEndian(UInt32(side))
        header += [8, 0, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Self.chunk("IHDR", header)
            + Self.chunk("IDAT", Self.zlibStored(raw)) + Self.chunk("IEND", [])
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    /// RFC 1950 around RFC 1951 stored blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let count = min(65_535, data.count - offset)
            let last: UInt8 = offset + count >= data.count ? 1 : 0
            out += [last, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
            out += data[offset..<(offset + count)]
            offset += count
        } while offset < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return out + bigEndian(b << 16 | a)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
