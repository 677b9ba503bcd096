import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store

/// Device binding: an account is bound to one device at a time. Binding another device ends the previous
/// binding and revokes the certificates tied to that device (reason `superseded`). Unbinding (holder with the
/// passcode or a fresh card-and-face re-verification, or an operator) revokes the device's certificates with
/// `cessationOfOperation`: their key stays on a device that no longer belongs to the account. Changing contact
/// details never touches the binding.
extension IdentityLifecycle {
    static func validateDevice(id: String, label: String) throws(EnrollmentError) {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:")
        guard (1...128).contains(id.count), id.allSatisfy({ allowed.contains($0) }) else {
            throw EnrollmentError(.invalidDeviceID, "a device id is 1 to 128 letters, digits, '-', '_', '.' or ':'")
        }
        guard label.count <= 100, !label.contains(where: { $0.isNewline }) else {
            throw EnrollmentError(.invalidDeviceLabel, "a device label is one line of " + "up to 100 characters")
        }
    }

    /// Checks the device's public key and returns it as canonical PEM.
    static func canonicalPublicKey(_ pem: String) throws(EnrollmentError) -> String {
        do {
            return try PublicKey(pem: pem).pemEncoded()
        } catch {
            throw EnrollmentError(.invalidDeviceKey, "publicKey must be a PEM public key (SubjectPublicKeyInfo)")
        }
    }

    public func devices(accountID: UUID) throws(EnrollmentError) -> [DeviceView] {
        try run { tx in
            guard try tx.account(id: accountID) != nil else { throw EnrollmentError.accountNotFound(accountID) }
            return try tx.deviceBindings(accountID: accountID).map(DeviceView.init)
        }
    }

    /// Binds `deviceID` to the account (re-binding the active device only updates its key and label).
    public func bindDevice(
        accountID: UUID, deviceID: String, publicKey: String, label: String,
        actor: UsageActor
    ) throws(EnrollmentError) -> DeviceBindingOutcome {
        try Self.validateDevice(id: deviceID, label: label)
        let key = try Self.canonicalPublicKey(publicKey)
        let at = now()
        let outcome = try run { tx in
            guard let account = try tx.account(id: accountID) else { throw EnrollmentError.accountNotFound(accountID) }
            return try Self.bind(
                tx, account: account, deviceID: deviceID, publicKey: key, label: label, actor: actor,
                at: at)
        }
        revoked(outcome.revokedSerials)
        return outcome
    }

    static func bind(
        _ tx: any StoreTransaction, account: AccountRecord, deviceID: String, publicKey: String,
        label: String, actor: UsageActor, at: Date,
        enrollmentID: UUID? = nil
    ) throws -> DeviceBindingOutcome {
        if account.status == .cancelled { throw EnrollmentError.accountCancelled }
        var superseded: DeviceBindingRecord?
        var revoked: [String] = []
        if var active = try tx.deviceBindings(accountID: account.id).first(where: { $0.unboundAt == nil }) {
            if active.deviceID == deviceID {
                active.publicKey = publicKey
                active.label = label
                try tx.updateDeviceBinding(active)
                try UsageChain.append(
                    tx, at: at, accountID: account.id, enrollmentID: enrollmentID,
                    event: "device-updated", actor: actor, detail: deviceID)
                return DeviceBindingOutcome(device: DeviceView(active), superseded: nil, revokedSerials: [])
            }
            active.unboundAt = at
            active.unbindReason = "superseded"
            try tx.updateDeviceBinding(active)
            try UsageChain.append(
                tx, at: at, accountID: account.id, enrollmentID: enrollmentID,
                event: "device-unbound", actor: actor, detail: "\(active.deviceID) superseded by \(deviceID)")
            let old = active.deviceID
            revoked = try revokeCertificates(tx, accountID: account.id, reason: .superseded, actor: actor, at: at) {
                $0.deviceID == old
            }
            superseded = active
        }
        let binding = DeviceBindingRecord(
            accountID: account.id, deviceID: deviceID, publicKey: publicKey, label: label,
            boundAt: at)
        try tx.insertDeviceBinding(binding)
        try UsageChain.append(
            tx, at: at, accountID: account.id, enrollmentID: enrollmentID, event: "device-bound",
            actor: actor, detail: deviceID)
        return DeviceBindingOutcome(
            device: DeviceView(binding), superseded: superseded.map(DeviceView.init),
            revokedSerials: revoked)
    }

    /// Ends the binding of `deviceID`. The holder proves themself with the passcode, or with `enrollmentID`: a
    /// card-and-face session of this account completed within `reverificationValidity`; operators and admins
    /// need neither.
    public func unbindDevice(
        accountID: UUID, deviceID: String, passcode: String?, enrollmentID: UUID?,
        actor: UsageActor
    ) throws(EnrollmentError) -> DeviceView {
        if !actor.isStaff {
            if let enrollmentID {
                do {
                    try proveRecentReverification(accountID: accountID, enrollmentID: enrollmentID)
                } catch  where error.kind == .reverificationRequired {
                    throw Self.holderProofFailed
                }
            } else if let passcode {
                let check = try verifyPasscode(accountID: accountID, passcode: passcode, actor: actor)
                guard check.isOK else { throw Self.refusal(check, for: actor) }
            } else {
                throw EnrollmentError(
                    .holderProofRequired,
                    "unbinding needs the passcode, a re-verification with card and face "
                        + "(enrollmentId), or an operator")
            }
        }
        let at = now()
        let (view, serials) = try run { tx in
            guard try tx.account(id: accountID) != nil else { throw EnrollmentError.accountNotFound(accountID) }
            guard
                var active = try tx.deviceBindings(accountID: accountID)
                    .first(where: { $0.unboundAt == nil && $0.deviceID == deviceID })
            else {
                throw EnrollmentError(.deviceNotBound, "device \(deviceID) is not bound to the account")
            }
            active.unboundAt = at
            active.unbindReason = actor.isStaff ? "operator" : "holder"
            try tx.updateDeviceBinding(active)
            try UsageChain.append(
                tx, at: at, accountID: accountID, enrollmentID: enrollmentID, event: "device-unbound",
                actor: actor, detail: "\(deviceID) \(active.unbindReason ?? "")")
            let serials = try Self.revokeCertificates(
                tx, accountID: accountID, reason: .cessationOfOperation,
                actor: actor, at: at
            ) { $0.deviceID == deviceID }
            return (DeviceView(active), serials)
        }
        revoked(serials)
        return view
    }

    /// Proves the holder is present: `enrollmentID` is a card-and-face session of this account completed within
    /// `reverificationValidity`. Throws 403 `reverification-required` otherwise.
    public func proveRecentReverification(accountID: UUID, enrollmentID: UUID) throws(EnrollmentError) {
        let record = try write { tx throws(StoreError) in try tx.enrollment(id: enrollmentID) }
        guard let record, record.accountID == accountID, record.state == .completed,
            now().timeIntervalSince(record.updatedAt) <= policy.reverificationValidity
        else {
            throw EnrollmentError(
                .reverificationRequired,
                "enrollment \(enrollmentID.uuidString) is not a completed card-and-face "
                    + "verification of this account from the last "
                    + "\(Int(policy.reverificationValidity / 60)) minutes")
        }
    }
}

extension DeviceView {
    public init(_ record: DeviceBindingRecord) {
        let iso = ISO8601DateFormatter()
        self.init(
            deviceId: record.deviceID, label: record.label, publicKey: record.publicKey,
            boundAt: iso.string(from: record.boundAt), unboundAt: record.unboundAt.map { iso.string(from: $0) },
            unbindReason: record.unbindReason, active: record.unboundAt == nil)
    }
}
