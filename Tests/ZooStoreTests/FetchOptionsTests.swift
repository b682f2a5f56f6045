import Foundation
import XCTest
import ZooRegistry
import ZooStore

final class FetchOptionsTests: XCTestCase {
    func testMirrorOrderAndOffline() throws {
        let o = try FetchOptions.resolve(mirrors: ["https://a.example/pan_seg"], offline: false,
                                         environment: ["ZOO_MIRROR": " https://b.example/x/ ,https://c.example", "ZOO_OFFLINE": "1"])
        XCTAssertEqual(o.mirrors, ["https://a.example/pan_seg", "https://b.example/x/", "https://c.example"])
        XCTAssertTrue(o.offline)
        XCTAssertFalse(try FetchOptions.resolve(mirrors: [], offline: false, environment: ["ZOO_OFFLINE": "0"]).offline)
        XCTAssertTrue(try FetchOptions.resolve(mirrors: [], offline: true, environment: [:]).offline)
    }

    func testBadMirrorIsRejected() {
        XCTAssertThrowsError(try FetchOptions.resolve(mirrors: ["ftp://x/y"], offline: false, environment: [:])) { e in
            XCTAssertEqual(e as? StoreError, .badMirror("ftp://x/y"))
        }
        XCTAssertThrowsError(try FetchOptions.resolve(mirrors: [], offline: false, environment: ["ZOO_MIRROR": "nohost"]))
    }

    func testSourcesKeepTheRelativePathAndEndWithTheOriginalHost() throws {
        var r = try Registry.builtIn()
        r.mirrors = ["https://registry-mirror.example/bdd"]
        var o = FetchOptions()
        o.mirrors = ["https://cli.example/m/", "https://registry-mirror.example/bdd"]
        let store = Store(registry: r, layout: CacheLayout(root: URL(fileURLWithPath: "/nonexistent")), options: o)
        let e = r.models[0]
        XCTAssertEqual(store.sources(of: .model, for: e), [
            "https://cli.example/m/models/\(e.name).pth",
            "https://registry-mirror.example/bdd/models/\(e.name).pth",
            "https://dl.cv.ethz.ch/bdd100k/pan_seg/models/\(e.name).pth",
        ])
        // The config lives on GitHub: mirrors do not apply.
        XCTAssertEqual(store.sources(of: .config, for: e), [r.url(of: .config, for: e)].compactMap { $0 })
    }

    func testCacheRootFromEnvironment() {
        XCTAssertEqual(CacheLayout(environment: ["ZOO_HOME": "/z", "XDG_CACHE_HOME": "/x"]).root.path, "/z")
        XCTAssertEqual(CacheLayout(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]).root.path, "/x/bdd100k-zoo")
        XCTAssertEqual(CacheLayout(environment: ["HOME": "/h"]).root.path, "/h/.cache/bdd100k-zoo")
    }
}
