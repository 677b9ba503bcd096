import COpenSSL

/// An owned OpenSSL `BIGNUM`, freed (and cleared, as it may hold a private key) on deinit. Internal: the
/// public API speaks big-endian byte arrays.
final class BigNumber {
    let pointer: OpaquePointer

    init(operation: String) throws(OpenSSLError) {
        guard let bn = BN_new() else { throw OpenSSLError.capture(operation) }
        pointer = bn
    }

    /// The unsigned big-endian integer `bytes` (empty is zero).
    convenience init(_ bytes: [UInt8], operation: String) throws(OpenSSLError) {
        try self.init(operation: operation)
        guard BN_bin2bn(bytes, Int32(bytes.count), pointer) != nil else { throw OpenSSLError.capture(operation) }
    }

    deinit {
        BN_clear_free(pointer)
    }

    var byteCount: Int { (Int(BN_num_bits(pointer)) + 7) / 8 }
    var isZero: Bool { BN_is_zero(pointer) == 1 }
    var isOne: Bool { BN_is_one(pointer) == 1 }

    /// Big-endian bytes, left-padded with zeroes to `length` (or minimal when `length` is nil).
    func bytes(padding length: Int? = nil, operation: String) throws(OpenSSLError) -> [UInt8] {
        let size = length ?? byteCount
        guard size >= byteCount else {
            throw OpenSSLError(operation: operation, queue: ["value of \(byteCount) bytes exceeds \(size)"])
        }
        var out = [UInt8](repeating: 0, count: size)
        if size == 0 { return out }
        guard BN_bn2binpad(pointer, &out, Int32(size)) == Int32(size) else { throw OpenSSLError.capture(operation) }
        return out
    }

    static func compare(_ lhs: BigNumber, _ rhs: BigNumber) -> Int32 {
        BN_cmp(lhs.pointer, rhs.pointer)
    }
}

/// An owned `BN_CTX` for one computation.
final class BigNumberContext {
    let pointer: OpaquePointer

    init(operation: String) throws(OpenSSLError) {
        guard let context = BN_CTX_new() else { throw OpenSSLError.capture(operation) }
        pointer = context
    }

    deinit {
        BN_CTX_free(pointer)
    }
}

extension BigNumber {
    /// A uniformly random integer in [1, bound - 1].
    static func random(below bound: BigNumber, operation: String) throws(OpenSSLError) -> BigNumber {
        let value = try BigNumber(operation: operation)
        for _ in 0..<64 {
            guard BN_rand_range(value.pointer, bound.pointer) == 1 else { throw OpenSSLError.capture(operation) }
            if !value.isZero { return value }
        }
        throw OpenSSLError(operation: operation, queue: ["no non-zero random value"])
    }
}
