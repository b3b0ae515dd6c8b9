import Foundation

/// Seals text so that only the holder of the key can read it and any change is detected: the
/// `encrypted_content` of the compaction items a server makes. Encrypt-then-MAC: the text is XORed with
/// a keystream of HMAC-SHA-256(encryption key, nonce ‖ counter) blocks, then HMAC-SHA-256(mac key,
/// version ‖ nonce ‖ ciphertext) is appended. The two keys are derived from one 32-byte server secret.
///
/// Format: `cbseal1.` + base64url(nonce[16] ‖ ciphertext ‖ tag[32]).
public struct Sealer: Sendable {
    private let encryptionKey: [UInt8]
    private let macKey: [UInt8]
    static let prefix = "cbseal1."

    public init(secret: [UInt8]) {
        encryptionKey = HMACSHA256.mac(key: secret, message: Array("chatbench seal: encryption".utf8))
        macKey = HMACSHA256.mac(key: secret, message: Array("chatbench seal: authentication".utf8))
    }

    /// A fresh random 32-byte secret.
    public static func newSecret() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &g) }
    }

    public func seal(_ text: String) -> String {
        var g = SystemRandomNumberGenerator()
        let nonce = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &g) }
        let cipher = xor(Array(text.utf8), nonce: nonce)
        let tag = HMACSHA256.mac(key: macKey, message: Array(Self.prefix.utf8) + nonce + cipher)
        return Self.prefix + Self.base64url(nonce + cipher + tag)
    }

    /// The text, or nil when `sealed` was not made with this key or was changed in any way.
    public func open(_ sealed: String) -> String? {
        guard sealed.hasPrefix(Self.prefix), sealed.utf8.count < 16 << 20,
              let raw = Self.unbase64url(String(sealed.dropFirst(Self.prefix.count))), raw.count >= 48 else { return nil }
        let nonce = Array(raw[0..<16])
        let cipher = Array(raw[16..<(raw.count - 32)])
        let tag = Array(raw[(raw.count - 32)...])
        let expected = HMACSHA256.mac(key: macKey, message: Array(Self.prefix.utf8) + nonce + cipher)
        // Compare without stopping at the first difference.
        guard zip(tag, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        return String(bytes: xor(cipher, nonce: nonce), encoding: .utf8)
    }

    private func xor(_ bytes: [UInt8], nonce: [UInt8]) -> [UInt8] {
        var out = bytes
        var counter: UInt32 = 0
        var index = 0
        while index < out.count {
            let block = HMACSHA256.mac(key: encryptionKey, message: nonce + withUnsafeBytes(of: counter.bigEndian, Array.init))
            for b in block where index < out.count { out[index] ^= b; index += 1 }
            counter &+= 1
        }
        return out
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ $0 < 128 }) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.utf8.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map { Array($0) }
    }
}
