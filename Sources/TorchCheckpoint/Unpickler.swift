/// A pickle virtual machine that only builds data. Globals become inert names (checked against
/// `Allowlist` the moment they are named); the few callables a checkpoint needs (tensor rebuilds,
/// OrderedDict, numpy's array reconstruction, ...) are modelled in `Reducer`, never called.
///
/// Covers every opcode of protocols 2 to 5 that carries data. The text opcodes of protocols 0/1,
/// out-of-band buffers and the extension registry are refused with a clear message.

final class PyList { var items: [Obj] = [] }
/// Tuples are boxed too, so a deep or shared structure can be taken apart without recursion.
final class PyTuple {
    var items: [Obj]
    init(_ items: [Obj]) { self.items = items }
}
final class PySet { var items: [Obj] = [] }
final class PyDict {
    var entries: [(key: Obj, value: Obj)] = []
    var index: [HashKey: Int] = [:]
    var kind: DictKind
    init(kind: DictKind) { self.kind = kind }

    func set(_ k: Obj, _ v: Obj) {
        if let h = k.hashKey {
            if let i = index[h] { entries[i].value = v; return }
            index[h] = entries.count
        }
        entries.append((k, v))
    }
}
/// numpy.ndarray being reconstructed (`_reconstruct` then BUILD).
final class NpArray { var tensor: TensorRef? }
/// numpy.dtype being reconstructed (`dtype(code)` then BUILD with the byte order).
final class NpDType {
    var code: String
    var order: String = "|"
    init(code: String) { self.code = code }
}

enum HashKey: Hashable { case str(String), int(Int64), none, bool(Bool) }

/// A storage named by a persistent id (the record is read later).
struct StorageInfo {
    var key: String
    /// nil for `UntypedStorage` (byte storage, the tensor says its dtype).
    var dtype: DType?
    var byteOffset: Int
    var byteCount: Int
}

indirect enum Obj {
    case none, bool(Bool), int(Int64), bigInt([UInt8]), float(Double), complex(Double, Double)
    case string(String), bytes([UInt8])
    case tuple(PyTuple), list(PyList), dict(PyDict), set(PySet)
    case global(String)
    case tensor(TensorRef)
    case storage(StorageInfo)
    case object(String, [Obj])
    case ndarray(NpArray), npdtype(NpDType)

    static func tupleOf(_ items: [Obj]) -> Obj { .tuple(PyTuple(items)) }

    var tupleItems: [Obj]? {
        if case let .tuple(t) = self { return t.items }
        return nil
    }

    var hashKey: HashKey? {
        switch self {
        case let .string(s): return .str(s)
        case let .int(i): return .int(i)
        case let .bool(b): return .bool(b)
        case .none: return HashKey.none
        default: return nil
        }
    }

    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .complex: return "complex"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case let .dict(d): return d.kind.rawValue
        case .set: return "set"
        case let .global(g): return g
        case .tensor: return "tensor"
        case .storage: return "storage"
        case let .object(t, _): return t
        case .ndarray: return "numpy.ndarray"
        case .npdtype: return "numpy.dtype"
        }
    }
}

struct PickleLimits {
    /// Most nodes the value tree may have (shared sub-objects count each time they appear).
    var maxNodes: Int
    var maxDepth = 256
}

struct Unpickler {
    let bytes: UnsafeRawBufferPointer
    var pos: Int
    let persistentLoad: (Obj) throws -> Obj
    var reducer = Reducer()

    private var stack: [Obj] = []
    private var marks: [[Obj]] = []
    private var memo: [Int: Obj] = [:]

    init(bytes: UnsafeRawBufferPointer, start: Int = 0, persistentLoad: @escaping (Obj) throws -> Obj) {
        self.bytes = bytes
        self.pos = start
        self.persistentLoad = persistentLoad
    }

    private func fail(_ reason: String, at offset: Int) -> CheckpointError {
        .unpickling(offset: offset, reason: reason)
    }

    private mutating func take(_ n: Int, _ op: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - pos else { throw fail("truncated (needs \(n) more bytes, \(bytes.count - pos) left)", at: op) }
        let r = UnsafeRawBufferPointer(rebasing: bytes[pos ..< pos + n])
        pos += n
        return r
    }
    private mutating func u8(_ op: Int) throws -> Int { Int(try take(1, op)[0]) }
    private mutating func uLE(_ n: Int, _ op: Int) throws -> UInt64 {
        let b = try take(n, op)
        var v: UInt64 = 0
        for i in (0 ..< n).reversed() { v = (v << 8) | UInt64(b[i]) }
        return v
    }
    private mutating func length(_ n: Int, _ op: Int) throws -> Int {
        let v = try uLE(n, op)
        guard v <= UInt64(bytes.count - pos) else { throw fail("truncated: length \(v) runs past the end of the pickle", at: op) }
        return Int(v)
    }
    private mutating func line(_ op: Int) throws -> String {
        guard let nl = bytes[pos...].firstIndex(of: 0x0A) else { throw fail("unterminated text line", at: op) }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos ..< nl]), as: UTF8.self)
        pos = nl + 1
        return s
    }
    private mutating func pop(_ op: Int) throws -> Obj {
        guard let v = stack.popLast() else { throw fail("stack underflow", at: op) }
        return v
    }
    private mutating func popMark(_ op: Int) throws -> [Obj] {
        guard let prev = marks.popLast() else { throw fail("no MARK on the stack", at: op) }
        let items = stack
        stack = prev
        return items
    }
    private func top(_ op: Int) throws -> Obj {
        guard let v = stack.last else { throw fail("stack underflow", at: op) }
        return v
    }

    static func decodeString(_ raw: UnsafeRawBufferPointer) -> String {
        String(decoding: raw, as: UTF8.self)
    }
    /// Python 2 `str` (SHORT_BINSTRING, BINSTRING): latin-1, as detectron2 loads them, so byte data
    /// (numpy array buffers) survives the round trip through `str` unchanged.
    static func decodeByteString(_ raw: UnsafeRawBufferPointer) -> String {
        String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) }))
    }

    static func signedLE(_ raw: UnsafeRawBufferPointer) -> Obj {
        let n = raw.count
        if n == 0 { return .int(0) }
        let negative = raw[n - 1] & 0x80 != 0
        // Fits Int64 when every byte past the 8th is pure sign extension.
        let ext: UInt8 = negative ? 0xFF : 0
        if n > 8 {
            var fits = raw[8...].allSatisfy { $0 == ext }
            if fits { fits = (raw[7] & 0x80 != 0) == negative }
            if !fits { return .bigInt(Array(raw)) }
        }
        var v: UInt64 = negative ? ~0 : 0
        for i in (0 ..< min(n, 8)).reversed() { v = (v << 8) | UInt64(raw[i]) }
        if n < 8 && negative { v |= ~0 << (UInt64(n) * 8) }
        return .int(Int64(bitPattern: v))
    }

    /// Takes apart every object the machine built, without recursion. A hostile pickle can nest
    /// containers a million deep; releasing such a chain the ordinary way recurses once per level
    /// and overflows the stack. Also breaks reference cycles.
    mutating func releaseAll(_ extra: Obj? = nil) {
        var work = stack
        for m in marks { work += m }
        work += memo.values
        if let e = extra { work.append(e) }
        stack = []; marks = []; memo = [:]
        var seen = Set<ObjectIdentifier>()
        while let o = work.popLast() {
            switch o {
            case let .tuple(t):
                if seen.insert(ObjectIdentifier(t)).inserted { work += t.items; t.items = [] }
            case let .list(l):
                if seen.insert(ObjectIdentifier(l)).inserted { work += l.items; l.items = [] }
            case let .set(x):
                if seen.insert(ObjectIdentifier(x)).inserted { work += x.items; x.items = [] }
            case let .dict(d):
                if seen.insert(ObjectIdentifier(d)).inserted {
                    for e in d.entries { work.append(e.key); work.append(e.value) }
                    d.entries = []; d.index = [:]
                }
            case let .object(_, args): work += args
            default: break
            }
        }
    }

    /// Runs to STOP; returns the result (the position after STOP is in `pos`).
    mutating func run() throws -> Obj {
        while true {
            let op = pos
            guard pos < bytes.count else { throw fail("truncated: no STOP opcode", at: op) }
            let code = bytes[pos]
            pos += 1
            switch code {
            case 0x80: // PROTO
                let v = try u8(op)
                guard v <= 5 else { throw fail("unsupported pickle protocol \(v)", at: op) }
            case 0x95: _ = try uLE(8, op) // FRAME: a buffering hint
            case 0x2E: return try pop(op) // STOP
            case 0x28: marks.append(stack); stack = [] // MARK
            case 0x30: _ = try pop(op) // POP
            case 0x31: _ = try popMark(op) // POP_MARK
            case 0x32: stack.append(try top(op)) // DUP
            case 0x4E: stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x4B: stack.append(.int(Int64(try u8(op)))) // BININT1
            case 0x4D: stack.append(.int(Int64(try uLE(2, op)))) // BININT2
            case 0x4A: stack.append(.int(Int64(Int32(bitPattern: UInt32(try uLE(4, op)))))) // BININT
            case 0x8A: stack.append(Unpickler.signedLE(try take(try length(1, op), op))) // LONG1
            case 0x8B: stack.append(Unpickler.signedLE(try take(try length(4, op), op))) // LONG4
            case 0x47: // BINFLOAT, big-endian
                let b = try take(8, op)
                var v: UInt64 = 0
                for i in 0 ..< 8 { v = (v << 8) | UInt64(b[i]) }
                stack.append(.float(Double(bitPattern: v)))
            case 0x58: stack.append(.string(Unpickler.decodeString(try take(try length(4, op), op)))) // BINUNICODE
            case 0x8C: stack.append(.string(Unpickler.decodeString(try take(try length(1, op), op)))) // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(Unpickler.decodeString(try take(try length(8, op), op)))) // BINUNICODE8
            case 0x55: stack.append(.string(Unpickler.decodeByteString(try take(try length(1, op), op)))) // SHORT_BINSTRING
            case 0x54: // BINSTRING: signed 32-bit length
                let n = Int32(bitPattern: UInt32(try uLE(4, op)))
                guard n >= 0 else { throw fail("negative BINSTRING length", at: op) }
                stack.append(.string(Unpickler.decodeByteString(try take(Int(n), op))))
            case 0x43: stack.append(.bytes(Array(try take(try length(1, op), op)))) // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(Array(try take(try length(4, op), op)))) // BINBYTES
            case 0x8E: stack.append(.bytes(Array(try take(try length(8, op), op)))) // BINBYTES8
            case 0x96: stack.append(.bytes(Array(try take(try length(8, op), op)))) // BYTEARRAY8
            case 0x29: stack.append(.tupleOf([])) // EMPTY_TUPLE
            case 0x85: let a = try pop(op); stack.append(.tupleOf([a]))
            case 0x86: let b = try pop(op); let a = try pop(op); stack.append(.tupleOf([a, b]))
            case 0x87: let c = try pop(op); let b = try pop(op); let a = try pop(op); stack.append(.tupleOf([a, b, c]))
            case 0x74: stack.append(.tupleOf(try popMark(op))) // TUPLE
            case 0x5D: stack.append(.list(PyList())) // EMPTY_LIST
            case 0x6C: let l = PyList(); l.items = try popMark(op); stack.append(.list(l)) // LIST
            case 0x7D: stack.append(.dict(PyDict(kind: .dict))) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popMark(op)
                guard items.count % 2 == 0 else { throw fail("DICT with an odd number of items", at: op) }
                let d = PyDict(kind: .dict)
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
                stack.append(.dict(d))
            case 0x8F: stack.append(.set(PySet())) // EMPTY_SET
            case 0x91: let s = PySet(); s.items = try popMark(op); stack.append(.set(s)) // FROZENSET
            case 0x61: // APPEND
                let v = try pop(op)
                guard case let .list(l) = try top(op) else { throw fail("APPEND onto \(try top(op).kindName), not a list", at: op) }
                l.items.append(v)
            case 0x65: // APPENDS
                let items = try popMark(op)
                guard case let .list(l) = try top(op) else { throw fail("APPENDS onto \(try top(op).kindName), not a list", at: op) }
                l.items.append(contentsOf: items)
            case 0x73: // SETITEM
                let v = try pop(op); let k = try pop(op)
                guard case let .dict(d) = try top(op) else { throw fail("SETITEM on \(try top(op).kindName), not a dict", at: op) }
                d.set(k, v)
            case 0x75: // SETITEMS
                let items = try popMark(op)
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items", at: op) }
                guard case let .dict(d) = try top(op) else { throw fail("SETITEMS on \(try top(op).kindName), not a dict", at: op) }
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
            case 0x90: // ADDITEMS
                let items = try popMark(op)
                guard case let .set(s) = try top(op) else { throw fail("ADDITEMS on \(try top(op).kindName), not a set", at: op) }
                s.items.append(contentsOf: items)
            case 0x71: memo[try u8(op)] = try top(op) // BINPUT
            case 0x72: memo[Int(try uLE(4, op))] = try top(op) // LONG_BINPUT
            case 0x94: memo[memo.count] = try top(op) // MEMOIZE
            case 0x68, 0x6A: // BINGET, LONG_BINGET
                let i = code == 0x68 ? try u8(op) : Int(try uLE(4, op))
                guard let v = memo[i] else { throw fail("memo entry \(i) was never stored", at: op) }
                stack.append(v)
            case 0x63: // GLOBAL
                let module = try line(op), name = try line(op)
                stack.append(.global(try Allowlist.check(module: module, name: name)))
            case 0x93: // STACK_GLOBAL
                let n = try pop(op), m = try pop(op)
                guard case let .string(module) = m, case let .string(name) = n else {
                    throw fail("STACK_GLOBAL needs two strings", at: op)
                }
                stack.append(.global(try Allowlist.check(module: module, name: name)))
            case 0x69: // INST: class named inline, arguments since MARK
                let module = try line(op), name = try line(op)
                let g = try Allowlist.check(module: module, name: name)
                let args = try popMark(op)
                stack.append(try reducer.reduce(g, args, at: op))
            case 0x6F: // OBJ: class and arguments since MARK
                var items = try popMark(op)
                guard !items.isEmpty, case let .global(g) = items.removeFirst() else { throw fail("OBJ without a class", at: op) }
                stack.append(try reducer.reduce(g, items, at: op))
            case 0x52, 0x81: // REDUCE, NEWOBJ
                let a = try pop(op), f = try pop(op)
                guard case let .global(g) = f else { throw fail("call of a \(f.kindName), not an allowed global", at: op) }
                guard let args = a.tupleItems else { throw fail("arguments of \(g) are a \(a.kindName), not a tuple", at: op) }
                stack.append(try reducer.reduce(g, args, at: op))
            case 0x92: // NEWOBJ_EX
                let kw = try pop(op), a = try pop(op), f = try pop(op)
                guard case let .global(g) = f, let args = a.tupleItems else { throw fail("malformed NEWOBJ_EX", at: op) }
                if case let .dict(d) = kw, !d.entries.isEmpty { throw fail("keyword arguments for \(g) are not supported", at: op) }
                stack.append(try reducer.reduce(g, args, at: op))
            case 0x62: // BUILD
                let state = try pop(op)
                try reducer.build(try top(op), state, at: op)
            case 0x51: // BINPERSID
                stack.append(try persistentLoad(try pop(op)))
            case 0x82, 0x83, 0x84:
                throw CheckpointError.globalNotAllowed("a copyreg extension code (EXT opcode)")
            case 0x97, 0x98: throw fail("out-of-band buffers (NEXT_BUFFER) are not supported", at: op)
            case 0x49, 0x4C, 0x46, 0x53, 0x56, 0x67, 0x70, 0x50:
                throw fail("protocol-0 text opcode '\(Character(Unicode.Scalar(code)))' is not supported; re-save with pickle protocol 2 or later", at: op)
            default:
                throw fail("unknown opcode 0x\(String(format2: code))", at: op)
            }
        }
    }
}
