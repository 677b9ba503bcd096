import COpenSSL

/// The public half of a static key agreement key (a chip authentication key, ICAO 9303-11 §6.2): an EC point
/// on a known curve, or a DH value with its group (X9.42 `dhpublicnumber` parameters p, g, q).
public enum KeyAgreementPublicKey: Sendable, Equatable {
    case ec(curve: ECCurve, point: [UInt8])
    case dh(group: DHGroup, value: [UInt8])
}

extension ECCurve {
    /// The curve OpenSSL names `name` (`prime256v1`, `brainpoolP256r1`, `secp384r1`, …).
    public init?(openSSLName name: String) {
        let nid = OBJ_sn2nid(name)
        guard nid != NID_undef, let curve = ECCurve.allCases.first(where: { $0.nid == nid }) else { return nil }
        self = curve
    }
}

extension PublicKey {
    /// The key as key agreement material. Throws for RSA keys, unknown curves, or DH keys without q (PKCS#3
    /// parameters) whose p and g are not one of the RFC 5114 groups.
    public func keyAgreementComponents() throws(OpenSSLError) -> KeyAgreementPublicKey {
        try KeyComponents.publicComponents(pointer)
    }
}

extension PrivateKey {
    /// The public half and the private scalar (EC) or exponent (DH), big-endian.
    public func keyAgreementComponents() throws(OpenSSLError)
        -> (publicKey: KeyAgreementPublicKey, privateValue: [UInt8])
    {
        let publicKey = try KeyComponents.publicComponents(pointer)
        let size: Int
        switch publicKey {
        case let .ec(curve, _): size = try ECGroup(curve: curve).order.count
        case let .dh(group, _): size = group.order.count
        }
        let value = try KeyComponents.bigNumber(pointer, OSSL_PKEY_PARAM_PRIV_KEY, "private value")
        return (publicKey, try value.bytes(padding: max(size, value.byteCount), operation: "private value"))
    }

    /// Generates an X9.42 DH key in an RFC 5114 group (`dh_1024_160`, `dh_2048_224`, `dh_2048_256`); its
    /// SubjectPublicKeyInfo uses `dhpublicnumber` with p, g and q.
    public static func generateDH(group: String) throws(OpenSSLError) -> PrivateKey {
        let operation = "DH key generation (\(group))"
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "DHX", nil) else { throw OpenSSLError.capture(operation) }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw OpenSSLError.capture(operation) }
        var name = Array(group.utf8CString)
        let set = name.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var params = [
                OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, buffer.baseAddress, 0),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_PKEY_CTX_set_params(context, &params)
        }
        guard set == 1 else { throw OpenSSLError.capture(operation) }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw OpenSSLError.capture(operation) }
        return PrivateKey(owning: key)
    }
}

enum KeyComponents {
    static func publicComponents(_ pkey: OpaquePointer) throws(OpenSSLError) -> KeyAgreementPublicKey {
        let operation = "key agreement public key"
        switch KeyType(pkey: pkey) {
        case let .ec(name, _):
            guard let curve = name.flatMap(ECCurve.init(openSSLName:)) ?? (name == nil ? explicitCurve(pkey) : nil)
            else {
                throw OpenSSLError(
                    operation: operation, queue: ["EC key on an unsupported curve \(name ?? "(explicit)")"])
            }
            var length = 0
            guard EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, nil, 0, &length) == 1, length > 0
            else { throw OpenSSLError.capture(operation) }
            var point = [UInt8](repeating: 0, count: length)
            guard EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, &point, length, &length) == 1 else {
                throw OpenSSLError.capture(operation)
            }
            let group = try ECGroup(curve: curve)
            return .ec(curve: curve, point: try group.point(Array(point[..<length])).encoded)
        default:
            let base = EVP_PKEY_get_base_id(pkey)
            guard base == EVP_PKEY_DH || base == EVP_PKEY_DHX else {
                throw OpenSSLError(operation: operation, queue: ["not an EC or DH key"])
            }
            let p = try bigNumber(pkey, OSSL_PKEY_PARAM_FFC_P, "DH prime")
            let g = try bigNumber(pkey, OSSL_PKEY_PARAM_FFC_G, "DH generator")
            let y = try bigNumber(pkey, OSSL_PKEY_PARAM_PUB_KEY, "DH public value")
            let prime = try p.bytes(operation: operation)
            let generator = try g.bytes(padding: prime.count, operation: operation)
            let value = try y.bytes(padding: prime.count, operation: operation)
            let standard = [DHGroup.rfc5114_1024_160, .rfc5114_2048_224, .rfc5114_2048_256]
            guard let q = try? bigNumber(pkey, OSSL_PKEY_PARAM_FFC_Q, "DH order") else {
                _ = OpenSSLError.drainErrorQueue()
                // PKCS#3 parameters (dhKeyAgreement) carry p and g only: a standardized group still gives q.
                if let named = standard.first(where: { $0.prime == prime && $0.generator == generator }) {
                    return .dh(group: named, value: value)
                }
                throw OpenSSLError(
                    operation: operation,
                    queue: ["DH key without the subgroup order q, and not an RFC 5114 group"])
            }
            let group = DHGroup(
                name: "\(Int(BN_num_bits(p.pointer)))-bit MODP", prime: prime, generator: generator,
                order: try q.bytes(operation: operation))
            let named = standard.first {
                $0.prime == group.prime && $0.generator == group.generator && $0.order == group.order
            }
            return .dh(group: named ?? group, value: value)
        }
    }

    /// The named curve whose prime, coefficients, generator and order equal the explicit parameters of `pkey` (DG14
    /// and EF.CardSecurity of eID cards often spell brainpool curves out; BSI TR-03110-3 §A.2.1.1), or nil.
    static func explicitCurve(_ pkey: OpaquePointer) -> ECCurve? {
        defer { _ = OpenSSLError.drainErrorQueue() }
        guard let p = try? bigNumber(pkey, OSSL_PKEY_PARAM_EC_P, "EC prime"),
            let a = try? bigNumber(pkey, OSSL_PKEY_PARAM_EC_A, "EC a"),
            let b = try? bigNumber(pkey, OSSL_PKEY_PARAM_EC_B, "EC b"),
            let order = try? bigNumber(pkey, OSSL_PKEY_PARAM_EC_ORDER, "EC order")
        else { return nil }
        var length = 0
        guard EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_EC_GENERATOR, nil, 0, &length) == 1,
            length > 0
        else { return nil }
        var generator = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_EC_GENERATOR, &generator, length, &length) == 1
        else { return nil }
        for curve in ECCurve.allCases {
            guard let group = try? ECGroup(curve: curve), let named = try? group.parameters(),
                named.prime == (try? p.bytes(operation: "EC prime")), named.a == (try? a.bytes(operation: "EC a")),
                named.b == (try? b.bytes(operation: "EC b")), named.order == (try? order.bytes(operation: "EC order")),
                let decoded = try? group.point(Array(generator[..<length])),
                decoded.encoded == (try? group.generator.encoded)
            else { continue }
            return curve
        }
        return nil
    }

    static func bigNumber(_ pkey: OpaquePointer, _ name: String, _ what: String) throws(OpenSSLError) -> BigNumber {
        var value: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &value) == 1, let value else {
            throw OpenSSLError.capture("key \(what)")
        }
        defer { BN_clear_free(value) }
        let copy = try BigNumber(operation: "key \(what)")
        guard BN_copy(copy.pointer, value) != nil else { throw OpenSSLError.capture("key \(what)") }
        return copy
    }
}
