import ArgumentParser
import Imaging
import Foundation
import Runner
import ZooRegistry
import Tensors
import ZooStore
import ZooFiles

/// Options every command that reads the registry takes.
struct RegistryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Read the model registry from FILE instead of the built-in zoo.json (also $ZOO_REGISTRY).", valueName: "FILE"))
    var registry: String?

    func load() throws -> Registry {
        do { return try Registry.load(path: registry) } catch { throw CLIError(error) }
    }
}

/// An error the CLI prints as one `error:` line on stderr, with a non-zero exit code.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    init(_ error: Error, code: Int32 = 1) {
        self.message = SystemError.describe(error)
        self.code = code
    }
    init(message: String, code: Int32 = 1) { self.message = message; self.code = code }
    var description: String { message }
}

enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("error: " + FileName.printable(message) + "\n").utf8))
    }
    /// Messages quote untrusted input (file names, ids, JSON values): what cannot be shown on a
    /// terminal is escaped, never sent raw.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data((FileName.printable(message) + "\n").utf8))
    }
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
}

extension ParsableCommand {
    /// Runs a body, turning thrown library errors into a clear message and exit code.
    func guarded(_ body: () throws -> Void) throws {
        do { try body() } catch let e as CLIError {
            Console.error(e.message)
            throw ExitCode(e.code)
        } catch let e as ExitCode {
            throw e
        } catch let e as CleanExit {
            throw e
        } catch {
            Console.error(SystemError.describe(error))
            throw ExitCode(1)
        }
    }
}

/// JSON output with stable key order and no escaped slashes.
enum JSONOut {
    static func string(_ object: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// A plain-text table with left-aligned text and right-aligned numbers.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    var rightAligned: Set<Int> = []

    func render() -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                return rightAligned.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

/// `--max-pixels N` (or `ZOO_MAX_PIXELS`): the pixel limit of every image, bitmask and RLE mask a command
/// reads, checked from headers before anything is allocated.
struct ImageLimitOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Refuse images, bitmask PNGs and RLE masks of more than N pixels (default 100000000; also $ZOO_MAX_PIXELS).", valueName: "N"))
    var maxPixels: Int?

    /// The limit: the flag, else ZOO_MAX_PIXELS, else 100 megapixels.
    func resolved() throws -> Int {
        if let n = maxPixels {
            guard n >= 1 else { throw CLIError(message: "--max-pixels must be at least 1") }
            return n
        }
        if let env = ProcessInfo.processInfo.environment["ZOO_MAX_PIXELS"], !env.isEmpty {
            guard let n = Int(env), n >= 1 else { throw CLIError(message: "ZOO_MAX_PIXELS=\(env): give a whole number of pixels, at least 1") }
            return n
        }
        return DecodeOptions.defaultMaxPixels
    }

    /// Decode options with the limit and a warning line on stderr for each damaged image.
    func decodeOptions() throws -> DecodeOptions {
        DecodeOptions(maxPixels: try resolved(), warningHandler: { Console.note("warning: " + $0) })
    }
}

/// `--threads N` (also $ZOO_THREADS) and `--pipelines K` for every command that runs the model. Default
/// threads: the CPUs this process may use (affinity mask, cgroup v2 cpu.max, SLURM_CPUS_PER_TASK); a
/// larger N is lowered with a warning. Default pipelines: from the threads and the free memory.
struct ThreadOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Threads to compute on (default: the CPUs this process may use: affinity, cgroup cpu.max, SLURM_CPUS_PER_TASK; also $ZOO_THREADS).", valueName: "N"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Images computed at once, each on threads/K threads, sharing the loaded weights (default: threads/2, fewer when memory is short; 1 for one image). The output is the same for every K.", valueName: "K"))
    var pipelines: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if let k = pipelines, k < 1 { throw ValidationError("--pipelines must be at least 1") }
    }

    /// The options of a model run: the thread budget (its warning printed), the decode options, the
    /// pipelines asked for.
    func runOptions(decode: DecodeOptions) -> RunOptions {
        let budget = CPUBudget.detect(requested: threads)
        if let w = budget.warning { Console.note("warning: " + w) }
        return RunOptions(budget: budget, decode: decode, pipelines: pipelines)
    }
}
