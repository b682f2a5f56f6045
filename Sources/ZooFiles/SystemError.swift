import Foundation

/// Foundation's file errors (`NSCocoaErrorDomain Code=516 ...`) as a sentence a user can act on:
/// the path, what is wrong, what to do. Any other error is described as it describes itself.
public enum SystemError {
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return String(describing: error) }
        let path = (ns.userInfo[NSFilePathErrorKey] as? String)
            ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        var posix: Int32?
        if ns.domain == NSPOSIXErrorDomain { posix = Int32(ns.code) }
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain { posix = Int32(u.code) }
        let what: String
        switch (ns.domain == NSCocoaErrorDomain ? ns.code : -1, posix) {
        case (_, .some(ENOSPC)), (_, .some(EDQUOT)), (CocoaError.fileWriteOutOfSpace.rawValue, _):
            what = "no space left on the device; free some disk space and run again"
        case (_, .some(EACCES)), (_, .some(EPERM)), (CocoaError.fileWriteNoPermission.rawValue, _), (CocoaError.fileReadNoPermission.rawValue, _):
            what = "permission denied; choose a folder you can write to, or fix its permissions"
        case (_, .some(EROFS)), (CocoaError.fileWriteVolumeReadOnly.rawValue, _):
            what = "the file system is read-only; choose another folder"
        case (_, .some(ENOTDIR)):
            what = "a part of the path is a file, not a folder; remove it or choose another path"
        case (CocoaError.fileWriteFileExists.rawValue, _), (_, .some(EEXIST)):
            what = "a file of that name already exists where a folder is needed; remove it or choose another path"
        case (CocoaError.fileNoSuchFile.rawValue, _), (CocoaError.fileReadNoSuchFile.rawValue, _), (_, .some(ENOENT)):
            what = "no such file or folder; check the path"
        case (_, .some(EISDIR)):
            what = "it is a folder; give a file"
        case (_, .some(let e)):
            what = String(cString: strerror(e)).lowercased()
        default:
            what = "the operation failed (Foundation error \(ns.code))"
        }
        return (path.map { "\($0): " } ?? "") + what
    }
}
