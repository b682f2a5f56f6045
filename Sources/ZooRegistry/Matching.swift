/// Levenshtein distance, for "did you mean" suggestions.
enum EditDistance {
    static func levenshtein(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev = Array(0...y.count), cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }
}

/// Shell-style globs (`*`, `?`, `[abc]`), case-insensitive, matching the whole string.
public enum Glob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        match(Array(pattern.lowercased()), 0, Array(text.lowercased()), 0)
    }

    private static func match(_ p: [Character], _ pi: Int, _ t: [Character], _ ti: Int) -> Bool {
        var pi = pi, ti = ti
        while pi < p.count {
            switch p[pi] {
            case "*":
                while pi < p.count && p[pi] == "*" { pi += 1 }
                if pi == p.count { return true }
                for k in ti...t.count where match(p, pi, t, k) { return true }
                return false
            case "?":
                guard ti < t.count else { return false }
                pi += 1; ti += 1
            case "[":
                guard ti < t.count, let close = p[(pi + 1)...].firstIndex(of: "]") else {
                    guard ti < t.count, p[pi] == t[ti] else { return false }
                    pi += 1; ti += 1; continue
                }
                let set = p[(pi + 1)..<close]
                guard set.contains(t[ti]) else { return false }
                pi = close + 1; ti += 1
            default:
                guard ti < t.count, p[pi] == t[ti] else { return false }
                pi += 1; ti += 1
            }
        }
        return ti == t.count
    }
}
