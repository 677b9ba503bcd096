// Where the signing key comes from. This reference kiosk generates a P-256 key pair in the browser (WebCrypto,
// private key not extractable) and sends its PKCS#10 request (RFC 2986) and public key: the daemon issues the
// certificate to that key and binds it as the account's device. The key lives only in this page's memory and goes
// with it at the end of the visit, so the certificate proves the enrollment but signs nothing afterwards. A site
// replaces this module with its own key source (the holder's signing token or phone app hands over its CSR and
// public key) and keeps the rest of the app.

const der = {
    length(n) {
        if (n < 0x80) return [n];
        const bytes = [];
        while (n > 0) { bytes.unshift(n & 0xff); n >>= 8; }
        return [0x80 | bytes.length, ...bytes];
    },
    tlv(tag, content) { return [tag, ...der.length(content.length), ...content]; },
    sequence(...parts) { return der.tlv(0x30, parts.flat()); },
    integer(bytes) {
        let value = Array.from(bytes);
        while (value.length > 1 && value[0] === 0 && value[1] < 0x80) value.shift();
        if (value[0] >= 0x80) value.unshift(0);
        return der.tlv(0x02, value);
    },
};

const OID_COMMON_NAME = [0x06, 0x03, 0x55, 0x04, 0x03];
const OID_ECDSA_SHA256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

function pem(label, bytes) {
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    const base64 = btoa(binary).match(/.{1,64}/g).join("\n");
    return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}

/// A fresh key: { csr (PEM), publicKey (PEM), deviceId }.
export async function newSigningKey() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const spki = Array.from(new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)));
    const name = Array.from(new TextEncoder().encode("kiosk device"));
    const subject = der.sequence(der.tlv(0x31, der.sequence(OID_COMMON_NAME, der.tlv(0x0c, name))));
    const info = der.sequence([0x02, 0x01, 0x00], subject, spki, [0xa0, 0x00]);
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey,
                                                       new Uint8Array(info)));
    const signature = der.sequence(der.integer(raw.slice(0, 32)), der.integer(raw.slice(32)));
    const request = der.sequence(info, der.sequence(OID_ECDSA_SHA256), der.tlv(0x03, [0x00, ...signature]));
    return { csr: pem("CERTIFICATE REQUEST", request), publicKey: pem("PUBLIC KEY", spki), deviceId: crypto.randomUUID() };
}
