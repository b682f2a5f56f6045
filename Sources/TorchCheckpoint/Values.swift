/// Where a tensor's bytes live.
public enum TensorData: Sendable, Equatable {
    /// A storage record of the checkpoint (`data/<key>` in a zip, a raw storage in the legacy form):
    /// `byteCount` bytes starting `byteOffset` bytes into the record.
    case storage(key: String, byteOffset: Int, byteCount: Int)
    /// Bytes held in the pickle itself (numpy arrays of `.pkl` files).
    case inline([UInt8])
}

/// A tensor as the checkpoint describes it: a strided view of some bytes. Nothing is read until asked.
public struct TensorRef: Sendable, Equatable {
    public var dtype: DType
    public var shape: [Int]
    /// In elements, like torch.
    public var strides: [Int]
    /// In elements.
    public var storageOffset: Int
    public var data: TensorData
    /// A conjugate or negative view (torch's lazy `conj()` / `neg()`): the bytes hold the plain values.
    public var conj = false
    public var neg = false
    /// The bytes are big-endian (a big-endian archive, or a numpy `>` dtype).
    public var bigEndian = false

    public init(dtype: DType, shape: [Int], strides: [Int], storageOffset: Int, data: TensorData,
                conj: Bool = false, neg: Bool = false, bigEndian: Bool = false) {
        self.dtype = dtype; self.shape = shape; self.strides = strides; self.storageOffset = storageOffset
        self.data = data; self.conj = conj; self.neg = neg; self.bigEndian = bigEndian
    }

    public var numel: Int { shape.reduce(1, *) }
    /// Bytes of the contiguous, little-endian result.
    public var byteCount: Int { numel * dtype.size }

    /// Whether the view is row-major contiguous (so its bytes are one slice of the storage).
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            if shape[i] != 1 && strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc = acc &* shape[i] }
        return s
    }
}

/// What kind of mapping a pickled dict was.
public enum DictKind: String, Sendable { case dict, ordered = "OrderedDict", counter = "Counter" }

/// The unpickled object: plain data and tensor references. Nothing in it can run code.
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer that does not fit Int64: little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case complex(Double, Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    case set([PickleValue])
    case dict([DictEntry], kind: DictKind)
    case tensor(TensorRef)
    /// An allowlisted global used as a value (a dtype such as `torch.float16`, a class).
    case global(String)
    /// An allowlisted constructor applied to arguments that has no closer model (`torch.device('cuda', 0)`).
    case object(type: String, args: [PickleValue])

    public struct DictEntry: Sendable, Equatable {
        public var key: PickleValue
        public var value: PickleValue
        public init(key: PickleValue, value: PickleValue) { self.key = key; self.value = value }
    }

    /// Looks up a string key in a dict value.
    public subscript(key: String) -> PickleValue? {
        guard case let .dict(entries, _) = self else { return nil }
        return entries.last(where: { $0.key == .string(key) })?.value
    }

    /// The value at a dotted path of dict keys and list/tuple indices (`""` is the value itself).
    public func value(atPath path: String) -> PickleValue? {
        if path.isEmpty { return self }
        var cur = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            switch cur {
            case let .dict(entries, _):
                guard let e = entries.last(where: { $0.key.pathComponent == part }) else { return nil }
                cur = e.value
            case let .list(items), let .tuple(items):
                guard let i = Int(part), i >= 0, i < items.count else { return nil }
                cur = items[i]
            default: return nil
            }
        }
        return cur
    }

    /// How a dict key appears in a dotted path.
    public var pathComponent: String {
        switch self {
        case let .string(s): return s
        case let .int(i): return String(i)
        case let .bool(b): return b ? "True" : "False"
        case .none: return "None"
        case let .float(d): return String(d)
        default: return shortDescription
        }
    }

    /// Every tensor reachable from this value, named by the dotted path from it.
    public func allTensors(prefix: String = "") -> [(name: String, tensor: TensorRef)] {
        var out: [(String, TensorRef)] = []
        func walk(_ v: PickleValue, _ path: String) {
            func join(_ c: String) -> String { path.isEmpty ? c : path + "." + c }
            switch v {
            case let .tensor(t): out.append((path, t))
            case let .dict(entries, _): for e in entries { walk(e.value, join(e.key.pathComponent)) }
            case let .list(items), let .tuple(items), let .set(items):
                for (i, x) in items.enumerated() { walk(x, join(String(i))) }
            case let .object(_, args): for (i, x) in args.enumerated() { walk(x, join(String(i))) }
            default: break
            }
        }
        walk(self, prefix)
        return out
    }

    /// One line, for tables.
    public var shortDescription: String {
        switch self {
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .bigInt(b): return "int(0x" + b.reversed().map { String(format2: $0) }.joined() + ")"
        case let .float(d): return String(d)
        case let .complex(r, i): return "complex(\(r), \(i))"
        case let .string(s):
            let p = Allowlist.printable(String(s.prefix(60)))
            return "'" + p + (s.count > 60 ? "...'" : "'")
        case let .bytes(b): return "bytes[\(b.count)]"
        case let .list(x): return "list[\(x.count)]"
        case let .tuple(x):
            if x.count <= 4 && x.allSatisfy({ if case .int = $0 { return true } else { return false } }) {
                return "(" + x.map(\.shortDescription).joined(separator: ", ") + (x.count == 1 ? ",)" : ")")
            }
            return "tuple[\(x.count)]"
        case let .set(x): return "set[\(x.count)]"
        case let .dict(x, kind): return "\(kind.rawValue)[\(x.count)]"
        case let .tensor(t): return "tensor \(t.dtype.rawValue) \(t.shape)"
        case let .global(g): return g
        case let .object(type, args): return type + "(" + args.map(\.shortDescription).joined(separator: ", ") + ")"
        }
    }
}

extension String {
    init(format2 byte: UInt8) {
        let s = String(byte, radix: 16)
        self = s.count == 1 ? "0" + s : s
    }
}
