import Foundation
import UnixHTTP

/// A JSON value read with `JSONDecoder`, so booleans and numbers stay apart (JSONSerialization gives NSNumber
/// for both).
enum JSONValue: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// The wire form of `value`, encoded as the daemon encodes its answers.
    static func wire(_ value: some Encodable) throws -> JSONValue {
        try parse(HTTPResponse.json(value).body)
    }

    subscript(key: String) -> JSONValue? {
        if case let .object(members) = self { return members[key] }
        return nil
    }

    var object: [String: JSONValue]? {
        if case let .object(members) = self { return members }
        return nil
    }

    var array: [JSONValue]? {
        if case let .array(items) = self { return items }
        return nil
    }

    var string: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    var strings: [String] { array?.compactMap(\.string) ?? [] }

    var bool: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    var description: String {
        switch self {
        case .null: return "null"
        case let .bool(value): return String(value)
        case let .integer(value): return String(value)
        case let .number(value): return String(value)
        case let .string(text): return "\"\(text)\""
        case let .array(items): return "[\(items.map(\.description).joined(separator: ", "))]"
        case let .object(members):
            return "{\(members.keys.sorted().map { "\"\($0)\": \(members[$0]!)" }.joined(separator: ", "))}"
        }
    }
}

/// docs/openapi.json, with the look-ups the tests need and a validator for the JSON Schema subset it uses
/// (`$ref`, `allOf`, `oneOf`, `type`, `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`).
struct OpenAPIDocument {
    static let path = "docs/openapi.json"
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    let root: JSONValue

    static func load() throws -> OpenAPIDocument {
        let url = repositoryRoot.appendingPathComponent(path)
        return OpenAPIDocument(root: try JSONValue.parse([UInt8](try Data(contentsOf: url))))
    }

    struct Operation {
        /// Upper case, as the router spells it.
        var method: String
        var path: String
        var body: JSONValue

        var name: String { "\(method) \(path)" }
        var role: String? { body["x-enrolld-role"]?.string }
        var responses: [String: JSONValue] { body["responses"]?.object ?? [:] }
    }

    static let methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    var operations: [Operation] {
        var list: [Operation] = []
        for (path, item) in root["paths"]?.object ?? [:] {
            for (method, body) in item.object ?? [:] where Self.methods.contains(method) {
                list.append(Operation(method: method.uppercased(), path: path, body: body))
            }
        }
        return list.sorted { $0.name < $1.name }
    }

    func operation(_ name: String) -> Operation? {
        operations.first { $0.name == name }
    }

    /// The operation serving `path` (a concrete one: `{name}` segments of the document match any segment).
    func operation(method: String, path: String) -> Operation? {
        let segments = path.split(separator: "/")
        return operations.first { operation in
            let pattern = operation.path.split(separator: "/")
            return operation.method == method && pattern.count == segments.count
                && zip(pattern, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
    }

    var schemas: [String: JSONValue] { root["components"]?["schemas"]?.object ?? [:] }

    /// What in `response` the document does not say `operation` answers (empty: all of it is documented): a
    /// problem's code must be listed under its status (or among the problems any request can meet) and its body
    /// must be a `Problem`; another status must be documented, with its JSON body's schema.
    func undocumented(_ response: HTTPResponse, by operation: Operation) -> [String] {
        let key = String(response.status)
        let documented = operation.responses[key].map { dereferenced($0) }
        let type = response.header("Content-Type")
        if type == "application/problem+json" {
            guard let problem = try? JSONValue.parse(response.body) else { return ["\(key): the problem is not JSON"] }
            var found = violations(of: problem, against: .object(["$ref": .string("#/components/schemas/Problem")]))
            let code = problem["code"]?.string ?? ""
            let common = problems(of: .object(["$ref": .string("#/components/responses/CommonProblem")]))
            if !(documented.map { problems(of: $0) } ?? []).contains(code) && !common.contains(code) {
                found.append("answers \(code) (\(key)): add it to x-enrolld-problems of its response \"\(key)\"")
            }
            return found
        }
        guard let documented else { return ["answers \(key), which it does not document"] }
        guard let type else { return [] }
        let mediaType = type.split(separator: ";").first.map(String.init) ?? type
        let content = documented["content"]?.object ?? [:]
        guard let media = content[type] ?? content[mediaType] else {
            return ["answers \(key) as \(type), which it does not document (\(content.keys.sorted()))"]
        }
        guard mediaType == "application/json" else { return [] }
        guard let body = try? JSONValue.parse(response.body) else { return ["\(key): the body is not JSON"] }
        return violations(of: body, against: media["schema"] ?? .null).map { "\(key): \($0)" }
    }

    /// The value a local reference (`#/components/...`) points to.
    func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: JSONValue? = root
        for part in reference.dropFirst(2).split(separator: "/") {
            node =
                node?[String(part).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")]
        }
        return node
    }

    /// A response, parameter or schema with its `$ref` followed.
    func dereferenced(_ value: JSONValue) -> JSONValue {
        if let reference = value["$ref"]?.string, let target = resolve(reference) { return dereferenced(target) }
        return value
    }

    /// The codes a response lists (`x-enrolld-problems`), the shared `default` included.
    func problems(of response: JSONValue) -> [String] {
        dereferenced(response)["x-enrolld-problems"]?.strings ?? []
    }

    /// The problem codes an operation can answer, by the HTTP status it lists them under (`default` for the
    /// problems any request can meet).
    func problems(of operation: Operation) -> [String: [String]] {
        operation.responses.mapValues { problems(of: $0) }.filter { !$0.value.isEmpty }
    }

    /// Where `value` breaks `schema`, one line per problem (empty: valid). Objects with `properties` are closed
    /// here (an undocumented member is reported), unless the schema is composed with `allOf`.
    func violations(of value: JSONValue, against schema: JSONValue, at path: String = "$") -> [String] {
        if let reference = schema["$ref"]?.string {
            guard let target = resolve(reference) else { return ["\(path): unresolvable \(reference)"] }
            return violations(of: value, against: target, at: path)
        }
        var found: [String] = []
        for part in schema["allOf"]?.array ?? [] {
            found += violations(of: value, against: part, at: path)
        }
        if let choices = schema["oneOf"]?.array {
            let matching = choices.filter { violations(of: value, against: $0, at: path).isEmpty }.count
            if matching != 1 { found.append("\(path): matches \(matching) of oneOf's \(choices.count) schemas") }
        }
        if let constant = schema["const"], constant != value {
            found.append("\(path): \(value) is not \(constant)")
        }
        if let allowed = schema["enum"]?.array, !allowed.contains(value) {
            found.append("\(path): \(value) is not one of \(JSONValue.array(allowed))")
        }
        if let type = schema["type"]?.string, !Self.value(value, hasType: type) {
            return found + ["\(path): \(value) is not of type \(type)"]
        }
        if case let .object(members) = value {
            let properties = schema["properties"]?.object ?? [:]
            for key in schema["required"]?.strings ?? [] where members[key] == nil {
                found.append("\(path): lacks required member '\(key)'")
            }
            for (key, member) in members {
                if let property = properties[key] {
                    found += violations(of: member, against: property, at: "\(path).\(key)")
                } else if let additional = schema["additionalProperties"], additional.object != nil {
                    found += violations(of: member, against: additional, at: "\(path).\(key)")
                } else if !properties.isEmpty && schema["allOf"] == nil {
                    found.append("\(path): member '\(key)' is not in the schema")
                }
            }
        }
        if case let .array(items) = value, let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() {
                found += violations(of: item, against: itemSchema, at: "\(path)[\(index)]")
            }
        }
        return found
    }

    static func value(_ value: JSONValue, hasType type: String) -> Bool {
        switch (type, value) {
        case ("string", .string), ("boolean", .bool), ("integer", .integer), ("number", .integer),
            ("number", .number), ("array", .array), ("object", .object), ("null", .null):
            return true
        default:
            return false
        }
    }
}
