import ArgumentParser
import Foundation
import ZooRegistry
import Tensors
import ZooStore

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
        self.message = String(describing: error)
        self.code = code
    }
    init(message: String, code: Int32 = 1) { self.message = message; self.code = code }
    var description: String { message }
}

enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    }
    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
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
            Console.error(String(describing: error))
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

/// `--threads N` (also $ZOO_THREADS) for every command that computes. Default: the CPUs this process may
/// use (affinity mask, cgroup v2 cpu.max, SLURM_CPUS_PER_TASK); a larger N is lowered with a warning.
struct ThreadOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Threads to compute on (default: the CPUs this process may use: affinity, cgroup cpu.max, SLURM_CPUS_PER_TASK; also $ZOO_THREADS).", valueName: "N"))
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Settles the thread count for all parallel work and returns the budget chosen.
    @discardableResult
    func apply() -> CPUBudget {
        let budget = CPUBudget.detect(requested: threads)
        if let w = budget.warning { Console.note("warning: " + w) }
        Parallelism.configure(budget)
        return budget
    }
}
