// zoo-fuzz: a bounded, structure-aware fuzzer for every parser of the package.
//
//   zoo-fuzz [--seconds N] [--seeds DIR] [--findings DIR] [--allow FILE] [--mem-mb M] [--timeout S]
//            [--rng R] [--only PARSER]
//   zoo-fuzz replay PARSER FILE        run one input in this process (exit 0 unless it crashes)
//
// The parent process never parses anything: it starts a child (this executable, `child` mode) per
// parser, which mutates that parser's seeds until its time is up, writing each input to a file before
// running it, under RLIMIT_AS and a per-input alarm. A child that dies by a signal (a Swift trap, a
// segfault, SIGALRM for a hang, an allocation past the memory limit) leaves the input that killed it;
// the parent minimises it and saves it under <findings>/<parser>/. Allow-listed findings (known, owned
// by other work) are reported but do not fail the run; any other finding makes the exit status 1.
import FuzzTargets
import Foundation
import Imaging
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("zoo-fuzz: \(message)\n".utf8))
    exit(2)
}

func option(_ args: [String], _ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func target(named name: String) -> FuzzTarget {
    guard let t = FuzzTargets.all.first(where: { $0.name == name }) else {
        fail("unknown parser '\(name)'; known: \(FuzzTargets.all.map(\.name).joined(separator: ", "))")
    }
    return t
}

func seeds(in dir: URL) -> [[UInt8]] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.sorted() ?? []
    return files.compactMap { f in
        guard !f.hasPrefix("."), let d = FileManager.default.contents(atPath: dir.appendingPathComponent(f).path), d.count <= 1 << 20
        else { return nil }
        return [UInt8](d)
    }
}

func scratchDirectory() -> URL {
    let u = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("zoo-fuzz-\(getpid())-\(UInt32.random(in: 0 ... .max))")
    try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}

func limitMemory(mb: Int) {
    var rl = rlimit(rlim_cur: rlim_t(mb) << 20, rlim_max: rlim_t(mb) << 20)
    _ = setrlimit(Int32(RLIMIT_AS.rawValue), &rl)
    var core = rlimit(rlim_cur: 0, rlim_max: 0)
    _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &core)
}

// MARK: child mode

/// child PARSER SEEDDIR RNG SECONDS CURFILE COUNTFILE MEMMB TIMEOUT
func childMain(_ a: [String]) -> Never {
    guard a.count >= 10, let rngSeed = UInt64(a[4]), let seconds = Double(a[5]), let mem = Int(a[8]), let timeout = UInt32(a[9])
    else { fail("bad child arguments") }
    let t = target(named: a[2])
    let corpus = seeds(in: URL(fileURLWithPath: a[3]))
    guard !corpus.isEmpty else { fail("no seeds in \(a[3])") }
    limitMemory(mb: mem)
    let cur = open(a[6], O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard cur >= 0 else { fail("cannot write \(a[6])") }
    let scratch = scratchDirectory()
    var rng = FuzzRNG(seed: rngSeed)
    let mutator = Mutator()
    let deadline = Date().addingTimeInterval(seconds)
    var count = 0
    // Seeds first, unmutated: a seed that fails is a finding too.
    var queue = corpus
    while true {
        let input: [UInt8]
        if !queue.isEmpty { input = queue.removeFirst() } else {
            if count & 63 == 0 && Date() >= deadline { break }
            input = mutator.mutate(corpus[rng.below(corpus.count)], isText: t.isText, corpus: corpus, rng: &rng)
        }
        _ = ftruncate(cur, 0)
        _ = input.withUnsafeBytes { pwrite(cur, $0.baseAddress, $0.count, 0) }
        alarm(timeout)
        _ = try? t.run(input, scratch)
        alarm(0)
        count += 1
    }
    try? FileManager.default.removeItem(at: scratch)
    try? Data("\(count)".utf8).write(to: URL(fileURLWithPath: a[7]))
    exit(0)
}

// MARK: replay mode

func replayMain(_ a: [String]) -> Never {
    guard a.count >= 4, let d = FileManager.default.contents(atPath: a[3]) else { fail("usage: zoo-fuzz replay PARSER FILE") }
    if let mem = option(a, "--mem-mb").flatMap(Int.init) { limitMemory(mb: mem) }
    if let t = option(a, "--timeout").flatMap(UInt32.init) { alarm(t) }
    let scratch = scratchDirectory()
    do { try target(named: a[2]).run([UInt8](d), scratch); print("ok") } catch { print("refused: \(error)") }
    try? FileManager.default.removeItem(at: scratch)
    exit(0)
}

// MARK: parent

let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]

/// Runs this executable with `args`; the signal that killed it, or nil for a normal exit.
func spawn(_ args: [String], quiet: Bool = true) -> Int32? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: selfPath)
    p.arguments = args
    if quiet {
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
    }
    do { try p.run() } catch { fail("cannot start \(selfPath): \(error)") }
    p.waitUntilExit()
    return p.terminationReason == .uncaughtSignal ? p.terminationStatus : nil
}

func fnv(_ b: [UInt8]) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
    return String(h, radix: 16)
}

/// Shrinks a crashing input by deleting chunks (halving sizes) while it still dies by the same signal.
func minimise(_ input: [UInt8], parser: String, signal: Int32, mem: Int, timeout: UInt32, budget: TimeInterval) -> [UInt8] {
    let dir = scratchDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("candidate").path
    let end = Date().addingTimeInterval(budget)
    func crashes(_ b: [UInt8]) -> Bool {
        _ = FileManager.default.createFile(atPath: file, contents: Data(b))
        return spawn(["replay", parser, file, "--mem-mb", "\(mem)", "--timeout", "\(timeout)"]) == signal
    }
    var best = input
    var chunk = max(1, best.count / 2)
    while chunk >= 1 && Date() < end {
        var i = 0
        var shrunk = false
        while i < best.count && Date() < end {
            var c = best
            c.removeSubrange(i ..< min(i + chunk, c.count))
            if crashes(c) { best = c; shrunk = true } else { i += chunk }
        }
        if !shrunk { chunk /= 2 }
    }
    return best
}

func parentMain(_ args: [String]) -> Never {
    let env = ProcessInfo.processInfo.environment
    let seconds = option(args, "--seconds").flatMap(Double.init) ?? env["ZOO_FUZZ_SECONDS"].flatMap(Double.init) ?? 60
    let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    let seedRoot = URL(fileURLWithPath: option(args, "--seeds") ?? root.appendingPathComponent("Tests/Fixtures/fuzz/seeds").path)
    let findings = URL(fileURLWithPath: option(args, "--findings") ?? root.appendingPathComponent("Tests/Fixtures/fuzz").path)
    let allowPath = option(args, "--allow") ?? findings.appendingPathComponent("allow-list.txt").path
    let mem = option(args, "--mem-mb").flatMap(Int.init) ?? 2048
    let timeout = option(args, "--timeout").flatMap(UInt32.init) ?? 5
    let rngBase = option(args, "--rng").flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970)
    if seconds <= 0 { print("zoo-fuzz: disabled (0 seconds)"); exit(0) }
    let allow = Set((try? String(contentsOfFile: allowPath, encoding: .utf8))?
        .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty && !$0.hasPrefix("#") } ?? [])
    var parsers = FuzzTargets.all.filter { !seeds(in: seedRoot.appendingPathComponent($0.name)).isEmpty }
    if let only = option(args, "--only") { parsers = parsers.filter { $0.name == only } }
    let missing = FuzzTargets.all.filter { t in !parsers.contains { $0.name == t.name } }.map(\.name)
    if !missing.isEmpty && option(args, "--only") == nil { print("zoo-fuzz: no seeds for: \(missing.joined(separator: ", "))") }
    guard !parsers.isEmpty else { fail("no seeds under \(seedRoot.path)") }
    let share = seconds / Double(parsers.count)
    print("zoo-fuzz: \(parsers.count) parsers, \(String(format: "%.1f", share)) s each, RLIMIT_AS \(mem) MiB, \(timeout) s per input, rng \(rngBase)")
    let work = scratchDirectory()
    var newFindings = 0
    for (pi, t) in parsers.enumerated() {
        let end = Date().addingTimeInterval(share)
        var execs = 0, found = 0, known = 0, round: UInt64 = 0
        while Date() < end && found + known < 5 {
            let cur = work.appendingPathComponent("current").path
            let countFile = work.appendingPathComponent("count").path
            try? FileManager.default.removeItem(atPath: countFile)
            let left = end.timeIntervalSinceNow
            let sig = spawn(["child", t.name, seedRoot.appendingPathComponent(t.name).path,
                             "\(rngBase &+ UInt64(pi) &* 1_000_003 &+ round)", "\(max(left, 0.1))", cur, countFile,
                             "\(mem)", "\(timeout)"])
            round += 1
            if let c = (try? String(contentsOfFile: countFile, encoding: .utf8)).flatMap({ Int($0) }) { execs += c }
            guard let sig else { continue }
            let input = [UInt8](FileManager.default.contents(atPath: cur) ?? Data())
            let small = minimise(input, parser: t.name, signal: sig, mem: mem, timeout: timeout, budget: 10)
            let name = "crash-\(fnv(small)).bin"
            let dir = findings.appendingPathComponent(t.name)
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data(small))
            let isKnown = allow.contains("\(t.name)/\(name)")
            if isKnown { known += 1 } else { found += 1 }
            print("  \(t.name): signal \(sig) on a \(input.count)-byte input, minimised to \(small.count) bytes: \(t.name)/\(name)\(isKnown ? " (allow-listed)" : "")")
        }
        newFindings += found
        print("  \(t.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(execs) executions, \(found) new findings, \(known) allow-listed")
    }
    try? FileManager.default.removeItem(at: work)
    if newFindings > 0 {
        print("zoo-fuzz: \(newFindings) new crashing inputs saved under \(findings.path); fix them, or list them in \(allowPath)")
        exit(1)
    }
    print("zoo-fuzz: no new findings")
    exit(0)
}

/// Writes the JPEG seed with libturbojpeg (the real encoder): a 16x8 gradient.
func makeJPEGSeed(_ a: [String]) -> Never {
    guard a.count >= 3 else { fail("usage: zoo-fuzz make-jpeg-seed FILE") }
    var rgb = [UInt8](repeating: 0, count: 16 * 8 * 3)
    for y in 0 ..< 8 { for x in 0 ..< 16 { let i = (y * 16 + x) * 3; rgb[i] = UInt8(x * 16); rgb[i + 1] = UInt8(y * 32); rgb[i + 2] = 128 } }
    do {
        let jpeg = try JPEGEncoder.encode(rgb: rgb, width: 16, height: 8, quality: 80)
        _ = FileManager.default.createFile(atPath: a[2], contents: Data(jpeg))
    } catch { fail("\(error)") }
    exit(0)
}

let argv = CommandLine.arguments
switch argv.count > 1 ? argv[1] : "" {
case "make-jpeg-seed": makeJPEGSeed(argv)
case "child": childMain(argv)
case "replay": replayMain(argv)
default: parentMain(argv)
}
