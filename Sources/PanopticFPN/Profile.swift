import Foundation
import Tensors

/// Wall time and arithmetic per model stage, for `zoo run --profile` and the benchmarks.
public final class StageProfiler {
    public struct Stage: Sendable {
        public var name: String
        public var seconds: Double
        /// Multiply-adds of the convolutions run in the stage.
        public var multiplyAdds: Int
        /// Minor page faults (fresh memory touched) during the stage, for the whole process.
        public var pageFaults: Int = 0
        /// CPU seconds spent in the kernel during the stage (page faults, thread wake-ups), whole process.
        public var systemSeconds: Double = 0
        /// Billions of floating-point operations (2 per multiply-add) per second.
        public var gflops: Double { seconds > 0 ? 2 * Double(multiplyAdds) / seconds / 1e9 : 0 }
    }

    public private(set) var stages: [Stage] = []
    var pendingMACs = 0

    public init() {}

    /// Runs `body` as the stage `name`, recording its time and the multiply-adds counted meanwhile.
    public func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        pendingMACs = 0
        let before = StageProfiler.usage()
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let after = StageProfiler.usage()
        stages.append(Stage(name: name, seconds: seconds, multiplyAdds: pendingMACs,
                            pageFaults: after.faults - before.faults, systemSeconds: after.system - before.system))
        return result
    }

    /// The process's minor page faults and system CPU seconds so far.
    static func usage() -> (faults: Int, system: Double) {
        var u = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &u) == 0 else { return (0, 0) }
        return (Int(u.ru_minflt), Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6)
    }

    /// Adds multiply-adds to the stage being measured (for the GFLOP/s column).
    public func count(_ macs: Int) { pendingMACs += macs }

    public var totalSeconds: Double { stages.reduce(0) { $0 + $1.seconds } }

    /// One line per stage: name, milliseconds, GMAC, GFLOP/s, page faults, system milliseconds.
    public func report() -> String {
        var lines = ["stage                      ms     GMAC  GFLOP/s  faults  sys ms"]
        for s in stages {
            lines.append(s.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                + String(format: " %8.1f %8.2f %8.1f %7d %7.1f", s.seconds * 1000, Double(s.multiplyAdds) / 1e9,
                         s.gflops, s.pageFaults, s.systemSeconds * 1000))
        }
        lines.append("total".padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " %8.1f", totalSeconds * 1000))
        return lines.joined(separator: "\n")
    }
}

/// What the forward pass threads through its stages: the engine options every kernel runs with, and the
/// optional profiler.
struct Forward {
    var profiler: StageProfiler?
    var engine: EngineOptions

    init(_ profiler: StageProfiler? = nil, engine: EngineOptions = .default) {
        self.profiler = profiler
        self.engine = engine
    }

    /// Runs `body` as the stage `name` of the profiler (just runs it without one).
    func stage<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        if let p = profiler { return try p.measure(name, body) }
        return try body()
    }

    /// Adds multiply-adds to the stage being measured.
    func count(_ macs: Int) { profiler?.count(macs) }

    /// Runs a convolution with the engine options, counting its multiply-adds.
    func run(_ conv: Conv2d, _ x: Tensor, relu: Bool = false, residual: Tensor? = nil) -> Tensor {
        if let p = profiler {
            let (_, h, w) = x.chw
            p.count(conv.multiplyAdds(h: h, w: w))
        }
        return conv(x, relu: relu, residual: residual, engine: engine)
    }
}
