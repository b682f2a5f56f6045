import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
import DemoSupport

final class StaticFileServerTests: XCTestCase {
    private func get(_ url: String, range: String? = nil) throws -> (Int, Data, [AnyHashable: Any]) {
        var req = URLRequest(url: try XCTUnwrap(URL(string: url)))
        if let range { req.setValue(range, forHTTPHeaderField: "Range") }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, Data, [AnyHashable: Any]) = (0, Data(), [:])
        URLSession.shared.dataTask(with: req) { data, response, _ in
            let http = response as? HTTPURLResponse
            result = (http?.statusCode ?? -1, data ?? Data(), http?.allHeaderFields ?? [:])
            done.signal()
        }.resume()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        return result
    }

    func testServesFilesWithRangesOnLoopbackOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("srv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("models"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let payload = Data((0..<100_000).map { UInt8($0 % 251) })
        try payload.write(to: dir.appendingPathComponent("models/w.pth"))
        try Data("secret".utf8).write(to: dir.deletingLastPathComponent().appendingPathComponent("outside-\(UUID().uuidString)"))

        let server = StaticFileServer(root: dir)
        try server.start()
        defer { server.stop() }
        XCTAssertTrue(server.baseURL.hasPrefix("http://127.0.0.1:"))

        let full = try get(server.baseURL + "/models/w.pth")
        XCTAssertEqual(full.0, 200)
        XCTAssertEqual(full.1, payload)

        let part = try get(server.baseURL + "/models/w.pth", range: "bytes=99000-")
        XCTAssertEqual(part.0, 206)
        XCTAssertEqual(part.1, payload.subdata(in: 99000..<100_000))

        let past = try get(server.baseURL + "/models/w.pth", range: "bytes=100000-")
        XCTAssertEqual(past.0, 416)

        XCTAssertEqual(try get(server.baseURL + "/models/missing.pth").0, 404)
        XCTAssertEqual(try get(server.baseURL + "/../" + "etc/passwd").0, 404)
    }
}
