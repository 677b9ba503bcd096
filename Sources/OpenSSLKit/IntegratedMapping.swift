import COpenSSL

/// The group arithmetic of PACE Integrated Mapping (ICAO 9303-11 §4.4.3.3.2): a pseudo-random field element is
/// turned into a generator of the group, by point encoding on a curve (the simplified SWU-style encoding f_G that
/// ICAO 9303-11 specifies for p ≡ 3 mod 4) or by exponentiation into the order-q subgroup for DH.
extension ECGroup {
    /// int(`value`) mod p, padded to the field size: R_p(s, t) of ICAO 9303-11 §4.4.3.3.2.
    public func reducedModuloPrime(_ value: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        let operation = "EC reduction mod p (\(curve.rawValue))"
        let context = try BigNumberContext(operation: operation)
        let (p, _, _) = try curveCoefficients(operation: operation)
        let v = try BigNumber(value, operation: operation)
        let result = try BigNumber(operation: operation)
        guard BN_nnmod(result.pointer, v.pointer, p.pointer, context.pointer) == 1 else {
            throw OpenSSLError.capture(operation)
        }
        return try result.bytes(padding: coordinateSize, operation: operation)
    }

    /// The mapped generator Ĝ = f_G(R_p(s, t)) (ICAO 9303-11 §4.4.3.3.2, point encoding for p ≡ 3 mod 4), from the
    /// pseudo-random output `pseudoRandom` (reduced mod p here):
    ///
    /// 1. α = −t² mod p
    /// 2. X₂ = −b · a⁻¹ · (1 + (α + α²)⁻¹) mod p
    /// 3. X₃ = α · X₂ mod p
    /// 4. h₂ = X₂³ + a·X₂ + b mod p
    /// 5. U = t³ · h₂ mod p
    /// 6. A = h₂^(p − 1 − (p + 1)/4) mod p
    /// 7. (x, y) = (X₂, A·h₂) when A²·h₂ = 1 mod p, else (X₃, A·U)
    /// 8. Ĝ = cofactor · (x, y)
    ///
    /// Throws for curves with p ≢ 3 mod 4 (NIST P-224, where ICAO 9303-11 does not define IM) and for the
    /// degenerate inputs the encoding cannot map (t = 0, α + α² = 0).
    public func integratedMappingPoint(_ pseudoRandom: [UInt8]) throws(OpenSSLError) -> ECPoint {
        let operation = "PACE-IM point encoding (\(curve.rawValue))"
        let context = try BigNumberContext(operation: operation)
        let (p, a, b) = try curveCoefficients(operation: operation)
        guard BN_mod_word(p.pointer, 4) == 3 else {
            throw OpenSSLError(operation: operation, queue: ["the point encoding needs p ≡ 3 mod 4"])
        }
        func number() throws(OpenSSLError) -> BigNumber { try BigNumber(operation: operation) }
        func check(_ ok: Int32) throws(OpenSSLError) {
            guard ok == 1 else { throw OpenSSLError.capture(operation) }
        }
        let raw = try BigNumber(pseudoRandom, operation: operation)
        let t = try number()
        try check(BN_nnmod(t.pointer, raw.pointer, p.pointer, context.pointer))
        guard !t.isZero else { throw OpenSSLError(operation: operation, queue: ["t = 0 cannot be encoded"]) }
        let zero = try number()
        let one = try BigNumber([1], operation: operation)
        let t2 = try number()
        try check(BN_mod_sqr(t2.pointer, t.pointer, p.pointer, context.pointer))
        let alpha = try number()
        try check(BN_mod_sub(alpha.pointer, zero.pointer, t2.pointer, p.pointer, context.pointer))
        let alpha2 = try number()
        try check(BN_mod_sqr(alpha2.pointer, alpha.pointer, p.pointer, context.pointer))
        let sum = try number()
        try check(BN_mod_add(sum.pointer, alpha.pointer, alpha2.pointer, p.pointer, context.pointer))
        guard !sum.isZero else { throw OpenSSLError(operation: operation, queue: ["α + α² = 0 cannot be encoded"]) }
        let sumInverse = try number()
        guard BN_mod_inverse(sumInverse.pointer, sum.pointer, p.pointer, context.pointer) != nil else {
            throw OpenSSLError.capture(operation)
        }
        let aInverse = try number()
        guard BN_mod_inverse(aInverse.pointer, a.pointer, p.pointer, context.pointer) != nil else {
            throw OpenSSLError.capture(operation)
        }
        let onePlus = try number()
        try check(BN_mod_add(onePlus.pointer, one.pointer, sumInverse.pointer, p.pointer, context.pointer))
        let product = try number()
        try check(BN_mod_mul(product.pointer, b.pointer, aInverse.pointer, p.pointer, context.pointer))
        try check(BN_mod_mul(product.pointer, product.pointer, onePlus.pointer, p.pointer, context.pointer))
        let x2 = try number()
        try check(BN_mod_sub(x2.pointer, zero.pointer, product.pointer, p.pointer, context.pointer))
        let x3 = try number()
        try check(BN_mod_mul(x3.pointer, alpha.pointer, x2.pointer, p.pointer, context.pointer))
        // h2 = X2³ + a·X2 + b
        let h2 = try number()
        try check(BN_mod_sqr(h2.pointer, x2.pointer, p.pointer, context.pointer))
        try check(BN_mod_mul(h2.pointer, h2.pointer, x2.pointer, p.pointer, context.pointer))
        let ax = try number()
        try check(BN_mod_mul(ax.pointer, a.pointer, x2.pointer, p.pointer, context.pointer))
        try check(BN_mod_add(h2.pointer, h2.pointer, ax.pointer, p.pointer, context.pointer))
        try check(BN_mod_add(h2.pointer, h2.pointer, b.pointer, p.pointer, context.pointer))
        // U = t³ · h2
        let u = try number()
        try check(BN_mod_mul(u.pointer, t2.pointer, t.pointer, p.pointer, context.pointer))
        try check(BN_mod_mul(u.pointer, u.pointer, h2.pointer, p.pointer, context.pointer))
        // A = h2^(p − 1 − (p + 1)/4)
        let quarter = try number()
        guard BN_copy(quarter.pointer, p.pointer) != nil else { throw OpenSSLError.capture(operation) }
        try check(BN_add_word(quarter.pointer, 1))
        try check(BN_rshift(quarter.pointer, quarter.pointer, 2))
        let exponent = try number()
        guard BN_copy(exponent.pointer, p.pointer) != nil else { throw OpenSSLError.capture(operation) }
        try check(BN_sub_word(exponent.pointer, 1))
        try check(BN_sub(exponent.pointer, exponent.pointer, quarter.pointer))
        let bigA = try number()
        try check(BN_mod_exp(bigA.pointer, h2.pointer, exponent.pointer, p.pointer, context.pointer))
        let test = try number()
        try check(BN_mod_sqr(test.pointer, bigA.pointer, p.pointer, context.pointer))
        try check(BN_mod_mul(test.pointer, test.pointer, h2.pointer, p.pointer, context.pointer))
        let x: BigNumber
        let y = try number()
        if test.isOne {
            x = x2
            try check(BN_mod_mul(y.pointer, bigA.pointer, h2.pointer, p.pointer, context.pointer))
        } else {
            x = x3
            try check(BN_mod_mul(y.pointer, bigA.pointer, u.pointer, p.pointer, context.pointer))
        }
        guard let point = EC_POINT_new(group) else { throw OpenSSLError.capture(operation) }
        defer { EC_POINT_free(point) }
        guard EC_POINT_set_affine_coordinates(group, point, x.pointer, y.pointer, context.pointer) == 1,
            EC_POINT_is_on_curve(group, point, context.pointer) == 1
        else {
            throw OpenSSLError(
                operation: operation,
                queue: ["the encoded point is not on the curve"]
                    + OpenSSLError.drainErrorQueue())
        }
        if let cofactor = EC_GROUP_get0_cofactor(group), BN_is_one(cofactor) != 1 {
            guard EC_POINT_mul(group, point, nil, point, cofactor, context.pointer) == 1 else {
                throw OpenSSLError.capture(operation)
            }
        }
        guard EC_POINT_is_at_infinity(group, point) == 0 else {
            throw OpenSSLError(operation: operation, queue: ["the mapped generator is the point at infinity"])
        }
        var encoded = [UInt8](repeating: 0, count: 1 + 2 * coordinateSize)
        guard
            EC_POINT_point2oct(
                group, point, POINT_CONVERSION_UNCOMPRESSED, &encoded, encoded.count,
                context.pointer) == encoded.count
        else { throw OpenSSLError.capture(operation) }
        return try self.point(encoded)
    }

    /// The bit length of p, which sizes the pseudo-random output (ICAO 9303-11 §4.4.3.3.2: n·l ≥ log₂ p + 64).
    public var primeBits: Int {
        guard let coefficients = try? curveCoefficients(operation: "EC prime") else { return coordinateSize * 8 }
        return Int(BN_num_bits(coefficients.0.pointer))
    }

    private func curveCoefficients(operation: String) throws(OpenSSLError) -> (BigNumber, BigNumber, BigNumber) {
        let p = try BigNumber(operation: operation)
        let a = try BigNumber(operation: operation)
        let b = try BigNumber(operation: operation)
        guard EC_GROUP_get_curve(group, p.pointer, a.pointer, b.pointer, nil) == 1 else {
            throw OpenSSLError.capture(operation)
        }
        return (p, a, b)
    }
}

extension DHGroup {
    /// int(`value`) mod p, padded to the element size: R_p(s, t) of ICAO 9303-11 §4.4.3.3.2.
    public func reducedModuloPrime(_ value: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        let operation = "DH reduction mod p (\(name))"
        let context = try BigNumberContext(operation: operation)
        let p = try BigNumber(prime, operation: operation)
        let v = try BigNumber(value, operation: operation)
        let result = try BigNumber(operation: operation)
        guard BN_nnmod(result.pointer, v.pointer, p.pointer, context.pointer) == 1 else {
            throw OpenSSLError.capture(operation)
        }
        return try result.bytes(padding: elementSize, operation: operation)
    }

    /// The mapped generator ĝ = R_p(s, t)^((p − 1)/q) mod p of DH Integrated Mapping (ICAO 9303-11 §4.4.3.3.2),
    /// from the pseudo-random output (reduced mod p here). Throws when ĝ = 1 (the mapping failed; a chip or
    /// terminal restarts PACE).
    public func integratedMappingGenerator(_ pseudoRandom: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        let operation = "PACE-IM DH mapping (\(name))"
        let context = try BigNumberContext(operation: operation)
        let p = try BigNumber(prime, operation: operation)
        let q = try BigNumber(order, operation: operation)
        let pMinusOne = try BigNumber(prime, operation: operation)
        guard BN_sub_word(pMinusOne.pointer, 1) == 1 else { throw OpenSSLError.capture(operation) }
        let exponent = try BigNumber(operation: operation)
        let remainder = try BigNumber(operation: operation)
        guard BN_div(exponent.pointer, remainder.pointer, pMinusOne.pointer, q.pointer, context.pointer) == 1,
            remainder.isZero
        else {
            throw OpenSSLError(operation: operation, queue: ["q does not divide p − 1"])
        }
        let base = try BigNumber(try reducedModuloPrime(pseudoRandom), operation: operation)
        let result = try BigNumber(operation: operation)
        guard BN_mod_exp(result.pointer, base.pointer, exponent.pointer, p.pointer, context.pointer) == 1 else {
            throw OpenSSLError.capture(operation)
        }
        guard !result.isOne, !result.isZero else {
            throw OpenSSLError(operation: operation, queue: ["the mapped generator is trivial"])
        }
        return try result.bytes(padding: elementSize, operation: operation)
    }

    /// The bit length of p.
    public var primeBits: Int {
        guard let first = prime.first(where: { $0 != 0 }), let index = prime.firstIndex(of: first) else { return 0 }
        return (prime.count - index) * 8 - first.leadingZeroBitCount
    }
}
