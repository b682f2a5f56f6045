import Foundation

/// Renders `StoreEvent`s on stderr: a live bar (bytes, rate, ETA) on a terminal, a few plain lines
/// otherwise (no carriage returns in logs), nothing but errors when quiet.
public final class ProgressPrinter {
    public enum Mode: Sendable { case bar, lines, quiet }

    public let mode: Mode
    private let write: (String) -> Void
    private var barVisible = false
    private var transferStart: UInt64 = 0
    private var transferOffset: Int64 = 0
    private var lastQuarter: [String: Int] = [:]
    private var lastDraw: UInt64 = 0

    /// `.bar` when stderr is a terminal, else `.lines`; `.quiet` when asked.
    public static func automaticMode(quiet: Bool) -> Mode {
        quiet ? .quiet : (isatty(STDERR_FILENO) != 0 ? .bar : .lines)
    }

    public init(mode: Mode, write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.mode = mode
        self.write = write
    }

    public func handle(_ event: StoreEvent) {
        guard mode != .quiet else { return }
        switch event {
        case let .alreadyCached(artifact, path):
            line("\(artifact): cached at \(path.path)")
        case let .waitingForLock(artifact, lock):
            line("\(artifact): another zoo process is fetching it; waiting for \(lock.path)")
        case let .resuming(artifact, bytes):
            line("\(artifact): resuming a partial download at \(ByteFormat.string(bytes))")
        case let .started(artifact, url, offset):
            transferStart = DispatchTime.now().uptimeNanoseconds
            transferOffset = offset
            lastQuarter[artifact] = nil
            line("\(artifact): downloading from \(url)" + (offset > 0 ? " (from byte \(offset))" : ""))
        case let .progress(artifact, bytes, total):
            progress(artifact, bytes, total)
        case let .sourceFailed(artifact, url, reason):
            line("\(artifact): \(url) failed: \(reason)")
        case let .retrying(artifact, _, reason, attempt, delay):
            line("\(artifact): \(reason); retry \(attempt) in \(String(format: "%.1f", delay)) s")
        case let .restarted(artifact, _, reason):
            transferStart = DispatchTime.now().uptimeNanoseconds
            transferOffset = 0
            lastQuarter[artifact] = 0
            line("\(artifact): \(reason); starting again from 0")
        case let .downloaded(artifact, url, bytes, seconds):
            let rate = seconds > 0 ? Double(bytes) / seconds : 0
            line("\(artifact): \(ByteFormat.string(bytes)) in \(String(format: "%.1f", seconds)) s "
                 + "(\(ByteFormat.string(Int64(rate)))/s), served by \(url)")
        case let .verified(artifact, path, md5, checked):
            line("\(artifact): " + (checked ? "MD5 \(md5) verified" : "MD5 \(md5) recorded") + ", saved to \(path.path)")
        }
    }

    private func line(_ s: String) {
        clearBar()
        write(s + "\n")
    }

    private func clearBar() {
        if barVisible { write("\r\u{1B}[K"); barVisible = false }
    }

    private func progress(_ artifact: String, _ bytes: Int64, _ total: Int64?) {
        let now = DispatchTime.now().uptimeNanoseconds
        let elapsed = Double(now - transferStart) / 1e9
        let rate = elapsed > 0 ? max(0, Double(bytes - transferOffset) / elapsed) : 0
        switch mode {
        case .quiet:
            return
        case .lines:
            guard let total, total > 0 else { return }
            if lastQuarter[artifact] == nil { lastQuarter[artifact] = Int(transferOffset * 4 / total) }
            let quarter = Int(bytes * 4 / total)
            guard quarter > (lastQuarter[artifact] ?? 0), quarter < 4 else { return }
            lastQuarter[artifact] = quarter
            write("\(artifact): \(quarter * 25)% (\(ByteFormat.string(bytes)) of \(ByteFormat.string(total)), "
                  + "\(ByteFormat.string(Int64(rate)))/s)\n")
        case .bar:
            guard now - lastDraw > 100_000_000 else { return }
            lastDraw = now
            var s = "\r\u{1B}[K" + artifact + " "
            if let total, total > 0 {
                let frac = min(1, Double(bytes) / Double(total))
                let width = 24
                let filled = Int(frac * Double(width))
                s += "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "] "
                s += String(format: "%3d%% ", Int(frac * 100))
                s += "\(ByteFormat.string(bytes))/\(ByteFormat.string(total))"
                if rate > 0 {
                    let eta = Int(Double(total - bytes) / rate)
                    s += "  \(ByteFormat.string(Int64(rate)))/s  ETA \(eta / 60):" + String(format: "%02d", eta % 60)
                }
            } else {
                s += ByteFormat.string(bytes) + (rate > 0 ? "  \(ByteFormat.string(Int64(rate)))/s" : "")
            }
            write(s)
            barVisible = true
        }
    }
}
