import Foundation

/// An element of a verified document: namespace-resolved name, attributes, child elements and its own text.
struct XMLElement: Sendable {
    var namespace: String
    var name: String
    /// Attributes without a prefix have no namespace (""), per Namespaces in XML §6.3.
    var attributes: [(namespace: String, name: String, value: String)]
    var children: [XMLElement]
    /// The element's direct character data, concatenated.
    var text: String

    func attribute(_ name: String, namespace: String = "") -> String? {
        attributes.first { $0.name == name && $0.namespace == namespace }?.value
    }

    func children(_ name: String, in namespace: String) -> [XMLElement] {
        children.filter { $0.name == name && $0.namespace == namespace }
    }

    func child(_ name: String, in namespace: String) -> XMLElement? {
        children.first { $0.name == name && $0.namespace == namespace }
    }

    var trimmedText: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Reads the canonical XML (W3C Exclusive XML Canonicalization 1.0) that `XMLSignature.verify` returns: only what
/// that form can contain — elements, attributes in double quotes, character data with the canonical escapes
/// (`&amp; &lt; &gt; &quot; &#x9; &#xA; &#xD;`), processing instructions (skipped) — and nothing else. Its input is
/// libxml2's output for a document whose signature verified, so this reader never sees the raw document.
enum CanonicalXML {
    static let maximumDepth = 64
    static let maximumElements = 500_000
    static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    struct Malformed: Error {
        let reason: String
    }

    static func parse(_ bytes: [UInt8]) throws(Malformed) -> XMLElement {
        var parser = Parser(bytes: bytes)
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0
        var elements = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func document() throws(Malformed) -> XMLElement {
            var root: XMLElement?
            while position < bytes.count {
                if peek("<?") {
                    try skipProcessingInstruction()
                } else if peek("<") {
                    guard root == nil else { throw Malformed(reason: "more than one root element") }
                    root = try element(scopes: [["xml": CanonicalXML.xmlNamespace]], depth: 0)
                } else if [0x0A, 0x20, 0x09, 0x0D].contains(bytes[position]) {
                    position += 1
                } else {
                    throw Malformed(reason: "text outside the root element")
                }
            }
            guard let root else { throw Malformed(reason: "no root element") }
            return root
        }

        func peek(_ text: String) -> Bool {
            let pattern = Array(text.utf8)
            guard position + pattern.count <= bytes.count else { return false }
            return bytes[position..<(position + pattern.count)].elementsEqual(pattern)
        }

        mutating func skipProcessingInstruction() throws(Malformed) {
            while position + 1 < bytes.count {
                if bytes[position] == UInt8(ascii: "?"), bytes[position + 1] == UInt8(ascii: ">") {
                    position += 2
                    return
                }
                position += 1
            }
            throw Malformed(reason: "unterminated processing instruction")
        }

        mutating func name() throws(Malformed) -> String {
            let start = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D || byte == UInt8(ascii: ">")
                    || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
                {
                    break
                }
                position += 1
            }
            guard position > start else { throw Malformed(reason: "empty name at byte \(start)") }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x0A, 0x09, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(Malformed) {
            guard position < bytes.count, bytes[position] == byte else {
                throw Malformed(reason: "expected '\(Character(Unicode.Scalar(byte)))' at byte \(position)")
            }
            position += 1
        }

        static func split(_ qualified: String) -> (prefix: String, local: String) {
            guard let colon = qualified.firstIndex(of: ":") else { return ("", qualified) }
            return (String(qualified[..<colon]), String(qualified[qualified.index(after: colon)...]))
        }

        mutating func element(scopes: [[String: String]], depth: Int) throws(Malformed) -> XMLElement {
            guard depth < CanonicalXML.maximumDepth else { throw Malformed(reason: "elements nested too deeply") }
            elements += 1
            guard elements <= CanonicalXML.maximumElements else { throw Malformed(reason: "too many elements") }
            try expect(UInt8(ascii: "<"))
            let qualified = try name()
            var raw: [(String, String)] = []
            while true {
                skipSpace()
                guard position < bytes.count else { throw Malformed(reason: "unterminated start tag") }
                if bytes[position] == UInt8(ascii: ">") {
                    position += 1
                    break
                }
                let attributeName = try name()
                try expect(UInt8(ascii: "="))
                try expect(UInt8(ascii: "\""))
                let start = position
                while position < bytes.count, bytes[position] != UInt8(ascii: "\"") { position += 1 }
                guard position < bytes.count else { throw Malformed(reason: "unterminated attribute value") }
                let value = try Self.unescape(bytes[start..<position])
                position += 1
                raw.append((attributeName, value))
            }
            var scope = scopes.last ?? [:]
            for (attributeName, value) in raw {
                if attributeName == "xmlns" {
                    scope[""] = value
                } else if attributeName.hasPrefix("xmlns:") {
                    scope[String(attributeName.dropFirst(6))] = value
                }
            }
            let (prefix, local) = Self.split(qualified)
            guard let namespace = scope[prefix] ?? (prefix.isEmpty ? "" : nil) else {
                throw Malformed(reason: "undeclared prefix \(prefix)")
            }
            var attributes: [(namespace: String, name: String, value: String)] = []
            for (attributeName, value) in raw where attributeName != "xmlns" && !attributeName.hasPrefix("xmlns:") {
                let (attributePrefix, attributeLocal) = Self.split(attributeName)
                guard let attributeNamespace = attributePrefix.isEmpty ? "" : scope[attributePrefix] else {
                    throw Malformed(reason: "undeclared prefix \(attributePrefix)")
                }
                attributes.append((attributeNamespace, attributeLocal, value))
            }
            var children: [XMLElement] = []
            var text: [UInt8] = []
            let nested = scopes + [scope]
            while true {
                guard position < bytes.count else { throw Malformed(reason: "unterminated element \(qualified)") }
                if peek("</") {
                    position += 2
                    let closing = try name()
                    guard closing == qualified else { throw Malformed(reason: "</\(closing)> closes <\(qualified)>") }
                    try expect(UInt8(ascii: ">"))
                    break
                } else if peek("<?") {
                    try skipProcessingInstruction()
                } else if peek("<!") {
                    throw Malformed(reason: "comment, CDATA or declaration in canonical XML")
                } else if bytes[position] == UInt8(ascii: "<") {
                    children.append(try element(scopes: nested, depth: depth + 1))
                } else {
                    let start = position
                    while position < bytes.count, bytes[position] != UInt8(ascii: "<") { position += 1 }
                    text += Array(try Self.unescape(bytes[start..<position]).utf8)
                }
            }
            return XMLElement(
                namespace: namespace, name: local, attributes: attributes, children: children,
                text: String(decoding: text, as: UTF8.self))
        }

        static func unescape(_ slice: ArraySlice<UInt8>) throws(Malformed) -> String {
            guard slice.contains(UInt8(ascii: "&")) else { return String(decoding: slice, as: UTF8.self) }
            var out: [UInt8] = []
            var index = slice.startIndex
            while index < slice.endIndex {
                let byte = slice[index]
                guard byte == UInt8(ascii: "&") else {
                    out.append(byte)
                    index += 1
                    continue
                }
                guard let end = slice[index...].firstIndex(of: UInt8(ascii: ";")), end - index <= 10 else {
                    throw Malformed(reason: "unterminated reference")
                }
                let reference = String(decoding: slice[(index + 1)..<end], as: UTF8.self)
                switch reference {
                case "amp": out.append(UInt8(ascii: "&"))
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "#x9": out.append(0x09)
                case "#xA": out.append(0x0A)
                case "#xD": out.append(0x0D)
                default: throw Malformed(reason: "reference &\(reference); cannot occur in canonical XML")
                }
                index = end + 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
