import CSealKitSKF
import SealHostDriver
import SealKitCBridge
import SealProtocol

/// The one application: the seal applet.
let applicationName = "SEALKIT"

/// `SKF_EnumApplication` (skf.h).
@_cdecl("SKF_EnumApplication")
package func skfEnumApplication(_ device: UnsafeMutableRawPointer?, _ names: UnsafeMutablePointer<CChar>?,
                                _ size: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    skfEntry("SKF_EnumApplication") {
        _ = try SKFHandles.device(device)
        try writeSized(multiString([applicationName]), to: UnsafeMutableRawPointer(names)?.assumingMemoryBound(to: UInt8.self),
                       size: size, "the application list")
    }
}

/// `SKF_OpenApplication` (skf.h).
@_cdecl("SKF_OpenApplication")
package func skfOpenApplication(_ device: UnsafeMutableRawPointer?, _ name: UnsafePointer<CChar>?,
                                _ handle: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> UInt32 {
    skfEntry("SKF_OpenApplication") {
        let owner = try SKFHandles.device(device)
        guard let handle else { throw SKFFailure(SAR_INVALIDPARAMERR, "phApplication is NULL") }
        handle.pointee = nil
        let text = try stringArgument(name, "szAppName")
        guard text == applicationName else {
            throw SKFFailure(SAR_APPLICATION_NOT_EXISTS, "the only application is \(applicationName), not \(text)")
        }
        handle.pointee = try SKFHandles.addApplication(SKFApplication(device: owner), device: device)
    }
}

/// `SKF_CloseApplication` (skf.h): logs the PIN out, so that the next application opened on the
/// device starts logged out, as GM/T 0016 has it.
@_cdecl("SKF_CloseApplication")
package func skfCloseApplication(_ handle: UnsafeMutableRawPointer?) -> UInt32 {
    skfEntry("SKF_CloseApplication") {
        let application = try SKFHandles.removeApplication(handle)
        // A token that is gone has no login to clear: closing still succeeds.
        _ = try? runBlocking { try await application.device.token.logout() }
    }
}

/// Runs a PIN entry point: as ``skfEntry(_:_:)``, and writes the tries left of a wrong PIN or PUK
/// (0 for a blocked one) to `*retryCount`.
private func pinEntry(_ function: StaticString, _ retryCount: UnsafeMutablePointer<UInt32>?,
                      _ body: () throws -> Void) -> UInt32 {
    var tries: UInt32?
    let code = skfEntry(function) {
        do {
            try body()
        } catch {
            tries = SKFFailure(error).triesRemaining
            throw error
        }
    }
    if let tries { retryCount?.pointee = tries }
    return code
}

/// The PIN type argument: USER_TYPE, or ADMIN_TYPE where the function supports it.
private func checkPINType(_ type: UInt32, adminSupported: Bool, _ what: String) throws(SKFFailure) {
    switch type {
    case UInt32(USER_TYPE): return
    case UInt32(ADMIN_TYPE):
        guard adminSupported else {
            throw SKFFailure(SAR_NOTSUPPORTYETERR, "\(what) of the admin PIN (the PUK) is not offered: the token checks the PUK only to unblock (SKF_UnblockPIN)")
        }
    default: throw SKFFailure(SAR_USER_TYPE_INVALID, "PIN type \(type) is neither ADMIN_TYPE nor USER_TYPE")
    }
}

/// `SKF_VerifyPIN` (skf.h).
@_cdecl("SKF_VerifyPIN")
package func skfVerifyPIN(_ handle: UnsafeMutableRawPointer?, _ type: UInt32, _ pin: UnsafePointer<CChar>?,
                          _ retryCount: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    pinEntry("SKF_VerifyPIN", retryCount) {
        let application = try SKFHandles.application(handle)
        try checkPINType(type, adminSupported: false, "verification")
        let text = try pinArgument(pin, "szPIN")
        try runBlocking { try await application.device.token.verifyPIN(text) }
    }
}

/// `SKF_ChangePIN` (skf.h).
@_cdecl("SKF_ChangePIN")
package func skfChangePIN(_ handle: UnsafeMutableRawPointer?, _ type: UInt32, _ oldPIN: UnsafePointer<CChar>?,
                          _ newPIN: UnsafePointer<CChar>?, _ retryCount: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    pinEntry("SKF_ChangePIN", retryCount) {
        let application = try SKFHandles.application(handle)
        try checkPINType(type, adminSupported: false, "a change")
        let current = try pinArgument(oldPIN, "szOldPin")
        let replacement = try pinArgument(newPIN, "szNewPin")
        try runBlocking { try await application.device.token.changePIN(current: current, new: replacement) }
    }
}

/// `SKF_GetPINInfo` (skf.h).
@_cdecl("SKF_GetPINInfo")
package func skfGetPINInfo(_ handle: UnsafeMutableRawPointer?, _ type: UInt32, _ maxRetryCount: UnsafeMutablePointer<UInt32>?,
                           _ remainRetryCount: UnsafeMutablePointer<UInt32>?, _ isDefault: UnsafeMutablePointer<Int32>?) -> UInt32 {
    skfEntry("SKF_GetPINInfo") {
        let application = try SKFHandles.application(handle)
        try checkPINType(type, adminSupported: true, "information")
        guard let maxRetryCount, let remainRetryCount, let isDefault else {
            throw SKFFailure(SAR_INVALIDPARAMERR, "an output pointer is NULL")
        }
        let status = try runBlocking { try await application.device.token.pinStatus() }
        let user = type == UInt32(USER_TYPE)
        maxRetryCount.pointee = UInt32(user ? status.pinTryLimit : status.pukTryLimit)
        remainRetryCount.pointee = UInt32(user ? status.pinTriesRemaining : status.pukTriesRemaining)
        isDefault.pointee = 0
    }
}

/// `SKF_UnblockPIN` (skf.h): the admin PIN is the token's PUK.
@_cdecl("SKF_UnblockPIN")
package func skfUnblockPIN(_ handle: UnsafeMutableRawPointer?, _ adminPIN: UnsafePointer<CChar>?,
                           _ newUserPIN: UnsafePointer<CChar>?, _ retryCount: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    pinEntry("SKF_UnblockPIN", retryCount) {
        let application = try SKFHandles.application(handle)
        let puk = try pinArgument(adminPIN, "szAdminPIN (the PUK)", lengths: 8...16)
        let pin = try pinArgument(newUserPIN, "szNewUserPIN")
        try runBlocking { try await application.device.token.unblockPIN(puk: puk, newPIN: pin) }
    }
}
