#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How many CPUs this process may actually use, and why: the affinity mask (taskset, Slurm binding), the
/// cgroup v2 quota (`cpu.max`, e.g. a Kubernetes CPU limit) and `SLURM_CPUS_PER_TASK`, the smallest wins.
public struct CPUBudget: Equatable, Sendable {
    /// The CPUs usable (at least 1).
    public var cpus: Int
    /// The threads chosen (at least 1, never more than `cpus`).
    public var threads: Int
    /// Why, for `--profile`: e.g. "affinity 2 of 16 CPUs; cgroup cpu.max 200000/100000".
    public var reason: String
    /// Set when a requested count exceeded `cpus` and was lowered.
    public var warning: String?

    /// The quota of a cgroup v2 `cpu.max` file ("200000 100000" -> 2.0 CPUs; "max 100000" -> nil, no limit).
    /// Malformed text gives nil (no limit is assumed rather than guessed).
    public static func parseCPUMax(_ text: String) -> Double? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard parts.count >= 1, parts[0] != "max", let quota = Double(parts[0]), quota > 0 else { return nil }
        let period = parts.count >= 2 ? Double(parts[1]) ?? 100_000 : 100_000
        guard period > 0 else { return nil }
        return quota / period
    }

    /// The cgroup v2 path of this process from `/proc/self/cgroup` (the "0::/path" line), or nil.
    public static func parseCgroupV2Path(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            let path = String(line.dropFirst(3))
            // Names from data never become paths unchecked: an absolute path without "..".
            guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { return nil }
            return path
        }
        return nil
    }

    /// A thread count from text (`--threads`, `ZOO_THREADS`): a positive integer, else nil.
    public static func parseCount(_ text: String?) -> Int? {
        guard let t = text?.trimmingCharacters(in: .whitespaces), let n = Int(t), n > 0 else { return nil }
        return n
    }

    /// Combines the limits: `online` CPUs, `affinity` CPUs in the mask, `quota` from cpu.max (CPUs, rounded
    /// up), `slurm` from SLURM_CPUS_PER_TASK, `requested` from --threads or ZOO_THREADS.
    public static func decide(online: Int, affinity: Int?, quota: Double?, quotaText: String?,
                              slurm: Int?, requested: Int?, requestSource: String = "--threads") -> CPUBudget {
        var cpus = max(1, online)
        var why: [String] = []
        if let a = affinity, a > 0 {
            cpus = min(cpus, a)
            why.append("affinity \(a) of \(max(1, online)) CPUs")
        } else {
            why.append("\(max(1, online)) CPUs online")
        }
        if let q = quota {
            let n = max(1, Int(q.rounded(.up)))
            cpus = min(cpus, n)
            why.append("cgroup cpu.max \(quotaText ?? String(q))")
        }
        if let s = slurm {
            cpus = min(cpus, s)
            why.append("SLURM_CPUS_PER_TASK=\(s)")
        }
        var threads = cpus
        var warning: String?
        if let r = requested {
            if r > cpus {
                warning = "\(requestSource) \(r) exceeds the \(cpus) CPUs this process may use; using \(cpus)"
                why.append("\(requestSource) \(r) lowered")
            } else {
                threads = r
                why.append("\(requestSource) \(r)")
            }
        }
        return CPUBudget(cpus: cpus, threads: threads, reason: why.joined(separator: "; "), warning: warning)
    }

    /// The CPUs in this process's affinity mask, or nil where it cannot be read.
    public static func affinityCount() -> Int? {
        #if os(Linux)
        // sched_getaffinity is not in the Glibc module (it needs _GNU_SOURCE): looked up, as a 4096-CPU mask.
        typealias GetAffinity = @convention(c) (Int32, Int, UnsafeMutableRawPointer?) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_getaffinity") else { return nil }
        let call = unsafeBitCast(symbol, to: GetAffinity.self)
        var mask = [UInt64](repeating: 0, count: 64)
        let rc = mask.withUnsafeMutableBytes { call(0, $0.count, $0.baseAddress) }
        guard rc == 0 else { return nil }
        let n = mask.reduce(0) { $0 + $1.nonzeroBitCount }
        return n > 0 ? n : nil
        #else
        return nil
        #endif
    }

    /// Detects the budget of this process: affinity, cgroup v2 cpu.max (following /proc/self/cgroup),
    /// SLURM_CPUS_PER_TASK; `requested` (from --threads) wins over ZOO_THREADS in `environment`.
    public static func detect(requested: Int? = nil,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> CPUBudget {
        let online = ProcessInfo.processInfo.processorCount
        var quota: Double?
        var quotaText: String?
        let root = "/sys/fs/cgroup"
        var files = [root + "/cpu.max"]
        if let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
           let path = parseCgroupV2Path(text), path != "/" {
            files.insert(root + path + "/cpu.max", at: 0)
        }
        for f in files {
            if let text = try? String(contentsOfFile: f, encoding: .utf8), let q = parseCPUMax(text) {
                quota = q
                quotaText = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: "/")
                break
            }
        }
        let slurm = parseCount(environment["SLURM_CPUS_PER_TASK"])
        let env = parseCount(environment["ZOO_THREADS"])
        return decide(online: online, affinity: affinityCount(), quota: quota, quotaText: quotaText,
                      slurm: slurm, requested: requested ?? env,
                      requestSource: requested != nil ? "--threads" : "ZOO_THREADS")
    }
}
