import ArgumentParser
import Foundation

@main
struct Zoo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "The BDD100K panoptic-segmentation model zoo, without Python.",
        discussion: """
        List, fetch, verify and convert the zoo's Panoptic FPN checkpoints, run them on images and \
        score them exactly as the official BDD100K toolkit does.
        """,
        version: ZooVersion.string,
        subcommands: [List.self, Info.self, Fetch.self, Verify.self, Cache.self, Convert.self, Inspect.self, Run.self,
                      Eval.self, Reproduce.self, Merge.self, Vis.self, Demo.self]
    )

    static func main() {
        // A file-size limit (`ulimit -f`, a quota) must fail a write with EFBIG, reported like a full
        // disk, not kill the process halfway through a file.
        signal(SIGXFSZ, SIG_IGN)
        main(nil)
    }
}

enum ZooVersion {
    static let string = "0.1.0"
}
