import COpenSSL

/// The named elliptic curves PACE and chip authentication use (ICAO 9303-11 §9.5.1, standardized domain
/// parameters 8–18; BSI TR-03110-3 Table 4).
public enum ECCurve: String, Sendable, CaseIterable, Equatable {
    case nistP192 = "NIST P-192"
    case brainpoolP192r1
    case nistP224 = "NIST P-224"
    case brainpoolP224r1
    case nistP256 = "NIST P-256"
    case brainpoolP256r1
    case brainpoolP320r1
    case nistP384 = "NIST P-384"
    case brainpoolP384r1
    case brainpoolP512r1
    case nistP521 = "NIST P-521"

    var nid: Int32 {
        switch self {
        case .nistP192: return NID_X9_62_prime192v1
        case .brainpoolP192r1: return NID_brainpoolP192r1
        case .nistP224: return NID_secp224r1
        case .brainpoolP224r1: return NID_brainpoolP224r1
        case .nistP256: return NID_X9_62_prime256v1
        case .brainpoolP256r1: return NID_brainpoolP256r1
        case .brainpoolP320r1: return NID_brainpoolP320r1
        case .nistP384: return NID_secp384r1
        case .brainpoolP384r1: return NID_brainpoolP384r1
        case .brainpoolP512r1: return NID_brainpoolP512r1
        case .nistP521: return NID_secp521r1
        }
    }
}

/// An elliptic curve group over a prime field (OpenSSL `EC_GROUP`), immutable once built and safe to share.
/// Points are exchanged as uncompressed encodings (04 || x || y, SEC 1 §2.3.3).
public final class ECGroup: @unchecked Sendable, Equatable {
    public let curve: ECCurve
    let group: OpaquePointer
    /// Bytes per coordinate (the field size).
    public let coordinateSize: Int
    /// The group order n, big-endian.
    public let order: [UInt8]

    public init(curve: ECCurve) throws(OpenSSLError) {
        let operation = "EC group \(curve.rawValue)"
        guard let group = EC_GROUP_new_by_curve_name(curve.nid) else { throw OpenSSLError.capture(operation) }
        self.curve = curve
        self.group = group
        coordinateSize = (Int(EC_GROUP_get_degree(group)) + 7) / 8
        guard let orderPointer = EC_GROUP_get0_order(group) else {
            EC_GROUP_free(group)
            throw OpenSSLError.capture(operation)
        }
        let bits = Int(BN_num_bits(orderPointer))
        var orderBytes = [UInt8](repeating: 0, count: (bits + 7) / 8)
        _ = BN_bn2binpad(orderPointer, &orderBytes, Int32(orderBytes.count))
        order = orderBytes
    }

    deinit {
        EC_GROUP_free(group)
    }

    public static func == (lhs: ECGroup, rhs: ECGroup) -> Bool { lhs.curve == rhs.curve }

    /// The group's base point G.
    public var generator: ECPoint {
        get throws(OpenSSLError) {
            guard let base = EC_GROUP_get0_generator(group) else { throw OpenSSLError.capture("EC generator") }
            return ECPoint(group: self, encoded: try encode(base, operation: "EC generator"))
        }
    }

    /// The curve y² = x³ + ax + b over GF(p) and the group order, as minimal big-endian integers.
    public func parameters() throws(OpenSSLError) -> (prime: [UInt8], a: [UInt8], b: [UInt8], order: [UInt8]) {
        let operation = "EC curve parameters (\(curve.rawValue))"
        let p = try BigNumber(operation: operation)
        let a = try BigNumber(operation: operation)
        let b = try BigNumber(operation: operation)
        guard EC_GROUP_get_curve(group, p.pointer, a.pointer, b.pointer, nil) == 1 else {
            throw OpenSSLError.capture(operation)
        }
        let n = try BigNumber(order, operation: operation)
        return (
            try p.bytes(operation: operation), try a.bytes(operation: operation), try b.bytes(operation: operation),
            try n.bytes(operation: operation)
        )
    }

    /// Decodes and validates a point: on the curve, not the point at infinity. Throws for anything else.
    public func point(_ encoded: [UInt8]) throws(OpenSSLError) -> ECPoint {
        let operation = "EC point decode (\(curve.rawValue))"
        guard encoded.count == 1 + 2 * coordinateSize, encoded.first == 0x04 else {
            throw OpenSSLError(operation: operation, queue: ["not an uncompressed point of \(curve.rawValue)"])
        }
        let point = try decode(encoded, operation: operation)
        defer { EC_POINT_free(point) }
        return ECPoint(group: self, encoded: try encode(point, operation: operation))
    }

    /// A uniformly random scalar in [1, n - 1], big-endian, padded to the order's length.
    public func randomScalar() throws(OpenSSLError) -> [UInt8] {
        let operation = "EC random scalar"
        let bound = try BigNumber(order, operation: operation)
        return try BigNumber.random(below: bound, operation: operation).bytes(
            padding: order.count,
            operation: operation)
    }

    /// numerator · denominator⁻¹ mod n, padded to the order's length (PACE-CAM: CA = SK_Map · SK⁻¹).
    public func scalarQuotient(_ numerator: [UInt8], _ denominator: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        let operation = "EC scalar division (\(curve.rawValue))"
        let context = try BigNumberContext(operation: operation)
        let n = try BigNumber(order, operation: operation)
        let a = try BigNumber(numerator, operation: operation)
        let b = try BigNumber(denominator, operation: operation)
        let inverse = try BigNumber(operation: operation)
        let result = try BigNumber(operation: operation)
        guard BN_mod_inverse(inverse.pointer, b.pointer, n.pointer, context.pointer) != nil,
            BN_mod_mul(result.pointer, a.pointer, inverse.pointer, n.pointer, context.pointer) == 1
        else {
            throw OpenSSLError.capture(operation)
        }
        return try result.bytes(padding: order.count, operation: operation)
    }

    /// scalar · point + other · 1 (other optional), via `EC_POINT_mul`.
    func multiply(_ point: [UInt8], scalar: [UInt8], plus addend: [UInt8]?) throws(OpenSSLError) -> [UInt8] {
        let operation = "EC point multiply (\(curve.rawValue))"
        let context = try BigNumberContext(operation: operation)
        let k = try BigNumber(scalar, operation: operation)
        let base = try decode(point, operation: operation)
        defer { EC_POINT_free(base) }
        guard let result = EC_POINT_new(group) else { throw OpenSSLError.capture(operation) }
        defer { EC_POINT_clear_free(result) }
        guard EC_POINT_mul(group, result, nil, base, k.pointer, context.pointer) == 1 else {
            throw OpenSSLError.capture(operation)
        }
        if let addend {
            let other = try decode(addend, operation: operation)
            defer { EC_POINT_free(other) }
            guard EC_POINT_add(group, result, result, other, context.pointer) == 1 else {
                throw OpenSSLError.capture(operation)
            }
        }
        return try encode(result, operation: operation)
    }

    private func decode(_ encoded: [UInt8], operation: String) throws(OpenSSLError) -> OpaquePointer {
        guard let point = EC_POINT_new(group) else { throw OpenSSLError.capture(operation) }
        guard EC_POINT_oct2point(group, point, encoded, encoded.count, nil) == 1,
            EC_POINT_is_on_curve(group, point, nil) == 1, EC_POINT_is_at_infinity(group, point) == 0
        else {
            EC_POINT_free(point)
            throw OpenSSLError(
                operation: operation,
                queue: ["not a point of \(curve.rawValue)"] + OpenSSLError.drainErrorQueue())
        }
        return point
    }

    private func encode(_ point: OpaquePointer, operation: String) throws(OpenSSLError) -> [UInt8] {
        guard EC_POINT_is_at_infinity(group, point) == 0 else {
            throw OpenSSLError(operation: operation, queue: ["result is the point at infinity"])
        }
        var out = [UInt8](repeating: 0, count: 1 + 2 * coordinateSize)
        let written = EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, &out, out.count, nil)
        guard written == out.count else { throw OpenSSLError.capture(operation) }
        return out
    }
}

/// A validated point of an `ECGroup` (never the point at infinity), kept in uncompressed encoding.
public struct ECPoint: Sendable, Equatable {
    public let group: ECGroup
    /// 04 || x || y.
    public let encoded: [UInt8]

    init(group: ECGroup, encoded: [UInt8]) {
        self.group = group
        self.encoded = encoded
    }

    /// The x coordinate, padded to the field size.
    public var x: [UInt8] { Array(encoded[1...group.coordinateSize]) }

    /// scalar · self. Throws when the result is the point at infinity.
    public func multiplied(by scalar: [UInt8]) throws(OpenSSLError) -> ECPoint {
        ECPoint(group: group, encoded: try group.multiply(encoded, scalar: scalar, plus: nil))
    }

    /// scalar · self + addend (e.g. the PACE generic mapping G' = s·G + H).
    public func multiplied(by scalar: [UInt8], adding addend: ECPoint) throws(OpenSSLError) -> ECPoint {
        ECPoint(group: group, encoded: try group.multiply(encoded, scalar: scalar, plus: addend.encoded))
    }

    /// self + other.
    public func adding(_ other: ECPoint) throws(OpenSSLError) -> ECPoint {
        try multiplied(by: [1], adding: other)
    }
}
