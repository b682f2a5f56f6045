import Tensors

/// A source of named weight tensors: the `state_dict` of a checkpoint, by mmdetection key.
///
/// Integer tensors (`*.num_batches_tracked`) need not be readable through `tensor(_:)`: the binder only
/// checks that their key is present.
public protocol WeightStore {
    /// Every key the store holds.
    var keys: [String] { get }
    /// The tensor under `key` as float32, in its checkpoint shape.
    func tensor(_ key: String) throws -> Tensor
}

/// Weights held in memory, e.g. the synthetic weights of `SyntheticWeights`.
public struct InMemoryWeightStore: WeightStore, Sendable {
    public private(set) var keys: [String]
    private var tensors: [String: Tensor]

    public init() {
        keys = []
        tensors = [:]
    }

    /// Adds or replaces a tensor; a new key goes to the end of `keys`.
    public mutating func set(_ key: String, _ tensor: Tensor) {
        if tensors.updateValue(tensor, forKey: key) == nil { keys.append(key) }
    }

    public func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw PanopticFPNError.weightMissing(key) }
        return t
    }
}

/// Binds a model's layers to a `WeightStore` strictly: each key must be taken exactly once with the shape
/// the layer expects. Problems are collected rather than thrown one by one, so `finish()` can report every
/// missing, unused, repeated and mis-shaped key at once.
public final class WeightBinder {
    private let store: WeightStore
    private let available: Set<String>
    private var used: Set<String> = []
    private var missing: [String] = []
    private var repeated: [String] = []
    private var misshaped: [(key: String, expected: [Int], found: [Int])] = []
    private var failures: [String] = []

    public init(store: WeightStore) {
        self.store = store
        self.available = Set(store.keys)
    }

    /// The tensor under `key`, which must have `shape`. On a problem, records it and returns zeros of
    /// `shape` so binding can go on and find the other problems.
    public func take(_ key: String, shape: [Int]) -> Tensor {
        guard mark(key) else { return Tensor(zeros: shape) }
        do {
            let t = try store.tensor(key)
            if t.shape != shape {
                misshaped.append((key, shape, t.shape))
                return Tensor(zeros: shape)
            }
            return t
        } catch {
            failures.append("\(key): \(error)")
            return Tensor(zeros: shape)
        }
    }

    /// Marks a key the model does not read (BatchNorm's `num_batches_tracked`) as used; it must exist.
    public func skip(_ key: String) {
        _ = mark(key)
    }

    /// Whether the store holds `key` (to infer the architecture, e.g. the backbone depth).
    public func contains(_ key: String) -> Bool { available.contains(key) }

    /// The keys under a prefix, for inference of counts (e.g. blocks per ResNet stage).
    public func keys(withPrefix prefix: String) -> [String] {
        store.keys.filter { $0.hasPrefix(prefix) }
    }

    /// Throws `PanopticFPNError.weightBinding` listing every problem, if any. Keys under
    /// `allowingUnusedPrefixes` may stay unused (to bind part of a model, e.g. in tests).
    public func finish(allowingUnusedPrefixes: [String] = []) throws {
        let unused = store.keys.filter { k in
            !used.contains(k) && !allowingUnusedPrefixes.contains { k.hasPrefix($0) }
        }
        if missing.isEmpty && unused.isEmpty && repeated.isEmpty && misshaped.isEmpty && failures.isEmpty {
            return
        }
        throw PanopticFPNError.weightBinding(WeightBindingReport(
            missing: missing, unused: unused, repeated: repeated,
            misshaped: misshaped.map { "\($0.key): expected \($0.expected), found \($0.found)" },
            unreadable: failures))
    }

    private func mark(_ key: String) -> Bool {
        guard available.contains(key) else {
            missing.append(key)
            return false
        }
        if !used.insert(key).inserted {
            repeated.append(key)
            return false
        }
        return true
    }
}

/// Every problem found while binding weights.
public struct WeightBindingReport: Sendable, Equatable, CustomStringConvertible {
    public var missing: [String]
    public var unused: [String]
    public var repeated: [String]
    public var misshaped: [String]
    public var unreadable: [String]

    public var description: String {
        var parts: [String] = []
        func add(_ title: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            let shown = items.prefix(20).joined(separator: ", ")
            let more = items.count > 20 ? ", … (\(items.count - 20) more)" : ""
            parts.append("\(items.count) \(title): \(shown)\(more)")
        }
        add("missing", missing)
        add("unexpected (never used)", unused)
        add("used twice", repeated)
        add("mis-shaped", misshaped)
        add("unreadable", unreadable)
        return parts.joined(separator: "; ")
    }
}
