import ZooRegistry

/// The largest file the store accepts for each kind of artifact. The published files are far smaller
/// (a `.md5` is 33 bytes, scores a few kB, the largest checkpoint about 500 MB, preds some hundred MB):
/// a mirror announcing or sending more is refused before the bytes reach the disk.
public enum ArtifactLimits {
    public static func maxBytes(_ kind: ArtifactKind) -> Int64 {
        switch kind {
        case .md5: return 64 << 10
        case .scores_val, .scores_test, .config: return 1 << 20
        case .preds: return 2 << 30
        case .model, .visuals: return 4 << 30
        }
    }
}
