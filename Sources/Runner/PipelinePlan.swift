import Foundation

/// How many images are computed at once. Each pipeline runs one image at a time on `threads / count`
/// threads; all of them share the loaded weights read-only. More pipelines scale better than more
/// threads per image (the non-GEMM stages and small layers use few cores), at the price of one more
/// set of feature maps and scratch buffers each.
public struct PipelinePlan: Equatable, Sendable {
    /// The pipelines (at least 1).
    public var count: Int
    /// Threads per pipeline (at least 1).
    public var threadsPerPipeline: Int
    /// Why, for `--profile`: e.g. "auto: 16 threads / 2 per pipeline; memory for 6 (MemAvailable 11.5 GB)".
    public var reason: String

    /// Threads each pipeline gets when the count is automatic: two threads per image keep about 95 % of
    /// the cores' work useful (one image on 2 cores: 1.9x one core), while 16 on one image reach 7x.
    public static let threadsPerAutoPipeline = 2

    /// Memory one pipeline needs beyond the shared weights, for an input of `inputPixels` pixels after
    /// scaling: feature maps, RoI features, masks and scratch, taken as 400 bytes per input pixel, plus
    /// the decoded image and its result, plus 64 MiB. (Measured: a second R-50 pipeline on 1280x720
    /// images scaled to 1280x720 raised the peak RSS from 0.95 to 1.21 GB, 0.26 GB; the estimate, 0.45 GB,
    /// leaves room for peaks that coincide.)
    public static func bytesPerPipeline(inputPixels: Int, imagePixels: Int) -> Int {
        400 * max(inputPixels, 1) + 16 * max(imagePixels, 1) + (64 << 20)
    }

    /// Chooses the count. `requested`: `--pipelines K` (honoured up to the threads and images; a warning
    /// is not needed: the count is reported). `available`: bytes of memory free for them (nil: unknown).
    public static func choose(threads: Int, images: Int, requested: Int?, perPipelineBytes: Int,
                              available: Int?, availableSource: String = "memory") -> PipelinePlan {
        let threads = max(1, threads), images = max(1, images)
        var why: [String] = []
        var k: Int
        if let r = requested {
            k = max(1, r)
            why.append("--pipelines \(r)")
        } else {
            k = max(1, threads / threadsPerAutoPipeline)
            why.append("auto: \(threads) thread(s) / \(threadsPerAutoPipeline) per pipeline")
            if let a = available {
                let fit = max(1, a / max(perPipelineBytes, 1))
                if fit < k {
                    k = fit
                    why.append(String(format: "memory for %d (%@ %.1f GB, %.2f GB each)", fit, availableSource,
                                      Double(a) / 1e9, Double(perPipelineBytes) / 1e9))
                }
            }
        }
        if k > threads { k = threads; why.append("at most one per thread") }
        if k > images { k = images; why.append("\(images) image(s)") }
        return PipelinePlan(count: k, threadsPerPipeline: max(1, threads / k), reason: why.joined(separator: "; "))
    }

    /// The memory this process may still use: the smaller of `/proc/meminfo`'s MemAvailable and the cgroup
    /// v2 limit (`memory.max` minus `memory.current`), with where it came from; nil where neither is known.
    public static func availableMemory() -> (bytes: Int, source: String)? {
        var best: (Int, String)?
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8), let b = parseMemAvailable(text) {
            best = (b, "MemAvailable")
        }
        var dirs = ["/sys/fs/cgroup"]
        if let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
           let path = cgroupV2Path(text), path != "/" {
            dirs.insert("/sys/fs/cgroup" + path, at: 0)
        }
        for d in dirs {
            guard let maxText = try? String(contentsOfFile: d + "/memory.max", encoding: .utf8),
                  let limit = Int(maxText.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            let used = (try? String(contentsOfFile: d + "/memory.current", encoding: .utf8))
                .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            let free = max(0, limit - used)
            if let b = best, b.0 <= free { break }
            best = (free, "cgroup memory.max")
            break
        }
        return best.map { (bytes: $0.0, source: $0.1) }
    }

    /// MemAvailable of a `/proc/meminfo` text, in bytes.
    public static func parseMemAvailable(_ text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let kb = Int(parts[1]), kb >= 0 else { return nil }
            return kb.multipliedReportingOverflow(by: 1024).overflow ? nil : kb * 1024
        }
        return nil
    }

    static func cgroupV2Path(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            let path = String(line.dropFirst(3))
            guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { return nil }
            return path
        }
        return nil
    }
}
