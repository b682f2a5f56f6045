/// Turns the VM's shared, mutable objects into an immutable value tree, with a budget: shared
/// sub-objects are copied each time they appear, so a hostile pickle could otherwise ask for an
/// exponential tree (or a cycle).
struct TreeBuilder {
    let limits: PickleLimits
    private var nodes = 0

    init(limits: PickleLimits) { self.limits = limits }

    mutating func value(_ o: Obj, depth: Int) throws -> PickleValue {
        nodes += 1
        guard nodes <= limits.maxNodes else {
            throw CheckpointError.limitExceeded("the pickle expands to more than \(limits.maxNodes) values (shared or cyclic references)")
        }
        guard depth <= limits.maxDepth else {
            throw CheckpointError.limitExceeded("the pickle nests deeper than \(limits.maxDepth) levels (or refers to itself)")
        }
        let d = depth + 1
        switch o {
        case .none: return .none
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .bigInt(b): return .bigInt(b)
        case let .float(f): return .float(f)
        case let .complex(r, i): return .complex(r, i)
        case let .string(s): return .string(s)
        case let .bytes(b): return .bytes(b)
        case let .tuple(t): return .tuple(try t.items.map { try value($0, depth: d) })
        case let .list(l): return .list(try l.items.map { try value($0, depth: d) })
        case let .set(s): return .set(try s.items.map { try value($0, depth: d) })
        case let .dict(dict):
            return .dict(try dict.entries.map { .init(key: try value($0.key, depth: d), value: try value($0.value, depth: d)) }, kind: dict.kind)
        case let .global(g): return .global(g)
        case let .tensor(t): return .tensor(t)
        case let .storage(s): return .object(type: "torch.storage", args: [.string(s.key)])
        case let .object(t, args): return .object(type: t, args: try args.map { try value($0, depth: d) })
        case let .ndarray(a):
            guard let t = a.tensor else { throw CheckpointError.unpickling(offset: 0, reason: "a numpy array was never given its data (no BUILD)") }
            return .tensor(t)
        case let .npdtype(dt): return .global("numpy.dtype(\(Allowlist.printable(dt.order + dt.code)))")
        }
    }
}
