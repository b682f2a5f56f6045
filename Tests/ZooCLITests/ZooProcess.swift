import Foundation
import Synchronization
import XCTest

/// Runs the built `zoo` binary as a user would, capturing stdout and stderr separately.
struct ZooProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("zoo")
        }
        #endif
        return Bundle.main.bundleURL.appendingPathComponent("zoo")
    }

    /// Runs `zoo ARGS` with a private cache root unless the caller sets ZOO_HOME.
    @discardableResult
    static func run(_ args: [String], environment: [String: String] = [:], cacheRoot: URL? = nil,
                    stdin: Data? = nil, executable: URL? = nil, currentDirectory: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = executable ?? binary
        if let currentDirectory { p.currentDirectoryURL = currentDirectory }
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "ZOO_REGISTRY")
        env.removeValue(forKey: "ZOO_MIRROR")
        env["ZOO_HOME"] = (cacheRoot ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("zoo-cli-tests-empty-cache")).path
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        if stdin == nil { p.standardInput = FileHandle.nullDevice }
        try p.run()
        // Drain both pipes concurrently so a large output cannot block the child.
        final class Box: Sendable { let data = Mutex(Data()) }
        let outBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            let d = out.fileHandleForReading.readDataToEndOfFile()
            outBox.data.withLock { $0 = d }
            group.leave()
        }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let outData = outBox.data.withLock { $0 }
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    static func temporaryDirectory(_ name: String = "zoo-test") throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(name)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
