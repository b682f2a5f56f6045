/// The models of the allowlisted callables: what each would build, built from data only.
struct Reducer {
    private func fail(_ reason: String, _ op: Int) -> CheckpointError { .unpickling(offset: op, reason: reason) }

    func reduce(_ g: String, _ args: [Obj], at op: Int) throws -> Obj {
        switch g {
        case "collections.OrderedDict", "collections.Counter":
            let d = PyDict(kind: g == "collections.Counter" ? .counter : .ordered)
            if let first = args.first {
                switch first {
                case let .dict(src): for e in src.entries { d.set(e.key, e.value) }
                case let .list(l): try addPairs(l.items, to: d, g, op)
                case let .tuple(t): try addPairs(t.items, to: d, g, op)
                default: throw fail("\(g) of a \(first.kindName)", op)
                }
            }
            return .dict(d)
        case "builtins.set":
            let s = PySet()
            if let first = args.first {
                switch first {
                case let .list(l): s.items = l.items
                case let .tuple(t): s.items = t.items
                case let .set(x): s.items = x.items
                default: throw fail("set of a \(first.kindName)", op)
                }
            }
            return .set(s)
        case "builtins.complex":
            func num(_ o: Obj) throws -> Double {
                switch o {
                case let .float(d): return d
                case let .int(i): return Double(i)
                case let .bool(b): return b ? 1 : 0
                default: throw fail("complex of a \(o.kindName)", op)
                }
            }
            return .complex(try args.count > 0 ? num(args[0]) : 0, try args.count > 1 ? num(args[1]) : 0)
        case "builtins.bytearray":
            if args.isEmpty { return .bytes([]) }
            if case let .bytes(b) = args[0] { return .bytes(b) }
            if args.count == 2, case .string = args[0] { return try reduce("_codecs.encode", args, at: op) }
            throw fail("bytearray of a \(args[0].kindName)", op)
        case "builtins.bytes":
            guard args.isEmpty else { throw fail("bytes() with arguments (\(args.count)): only the empty bytes() of protocol-2 numpy pickles is allowed", op) }
            return .bytes([])
        case "_codecs.encode":
            guard let first = args.first, case let .string(s) = first else { throw fail("_codecs.encode needs a str", op) }
            var enc = "utf-8"
            if args.count > 1, case let .string(e) = args[1] { enc = e.lowercased() }
            switch enc {
            case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1":
                var out: [UInt8] = []
                out.reserveCapacity(s.unicodeScalars.count)
                for u in s.unicodeScalars {
                    guard u.value <= 0xFF else { throw fail("_codecs.encode: character U+\(String(u.value, radix: 16)) is not latin-1", op) }
                    out.append(UInt8(u.value))
                }
                return .bytes(out)
            case "utf-8", "utf8": return .bytes(Array(s.utf8))
            default: throw fail("_codecs.encode with encoding '\(Allowlist.printable(enc))' is not supported", op)
            }
        case "torch.Size":
            guard args.count == 1, let items = args[0].tupleItems else {
                if args.count == 1, case let .list(l) = args[0] { return .tupleOf(l.items) }
                throw fail("torch.Size needs a tuple", op)
            }
            return .tupleOf(items)
        case "torch.device":
            for a in args {
                switch a {
                case .string, .int, .none: continue
                default: throw fail("torch.device of a \(a.kindName)", op)
                }
            }
            return .object("torch.device", args)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_tensor":
            return .tensor(try rebuildTensor(g, args, op))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch.nn.parameter.Parameter":
            guard let first = args.first, case .tensor = first else { throw fail("\(g) of a \(args.first?.kindName ?? "nothing"), not a tensor", op) }
            return first
        case "torch._tensor._rebuild_from_type_v2":
            guard args.count >= 3, case let .global(f) = args[0], case let .global(cls) = args[1], let inner = args[2].tupleItems else {
                throw fail("malformed _rebuild_from_type_v2", op)
            }
            guard cls == "torch.Tensor" || cls == "torch.nn.parameter.Parameter" else {
                throw CheckpointError.unsupportedTensor("tensor subclass \(cls) (only torch.Tensor and Parameter)")
            }
            let r = try reduce(f, inner, at: op)
            guard case .tensor = r else { throw fail("_rebuild_from_type_v2 of \(f) did not give a tensor", op) }
            return r
        case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
            guard let first = args.first, case .global("numpy.ndarray") = first else { throw fail("_reconstruct of something other than numpy.ndarray", op) }
            return .ndarray(NpArray())
        case "numpy.dtype":
            guard let first = args.first, case let .string(code) = first else { throw fail("numpy.dtype needs a code string", op) }
            return .npdtype(NpDType(code: code))
        case "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer":
            guard args.count == 4, case let .bytes(data) = args[0], case let .npdtype(dt) = args[1],
                  let shapeItems = args[2].tupleItems, case let .string(order) = args[3] else {
                throw fail("malformed numpy _frombuffer", op)
            }
            return .tensor(try numpyTensor(data: data, dtype: dt, shape: try ints(shapeItems, "shape", op), fortran: order == "F", op))
        case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
            guard args.count == 2, case let .npdtype(dt) = args[0], case let .bytes(data) = args[1] else {
                throw fail("malformed numpy scalar", op)
            }
            return .tensor(try numpyTensor(data: data, dtype: dt, shape: [], fortran: false, op))
        default:
            if g.hasPrefix("torch._utils._rebuild") || g.hasSuffix("Tensor") || g == "torch.storage.TypedStorage" {
                throw CheckpointError.unsupportedTensor("\(g) is allowed by torch but cannot be converted (quantized, sparse, meta, device or legacy tensors are not supported)")
            }
            throw fail("\(g) cannot be called", op)
        }
    }

    private func addPairs(_ items: [Obj], to d: PyDict, _ g: String, _ op: Int) throws {
        for it in items {
            guard let kv = it.tupleItems, kv.count == 2 else { throw fail("\(g) of items that are not pairs", op) }
            d.set(kv[0], kv[1])
        }
    }

    func ints(_ items: [Obj], _ what: String, _ op: Int) throws -> [Int] {
        guard items.count <= 64 else { throw fail("\(what) has \(items.count) dimensions (at most 64)", op) }
        return try items.map {
            guard case let .int(v) = $0 else { throw fail("\(what) holds a \($0.kindName), not an int", op) }
            return Int(v)
        }
    }

    func rebuildTensor(_ g: String, _ args: [Obj], _ op: Int) throws -> TensorRef {
        let v3 = g.hasSuffix("_v3")
        guard args.count >= 4 else { throw fail("\(g) with \(args.count) arguments", op) }
        guard case let .storage(st) = args[0] else { throw fail("\(g): first argument is a \(args[0].kindName), not a storage", op) }
        guard case let .int(off) = args[1] else { throw fail("\(g): storage offset is not an int", op) }
        guard let sizeItems = args[2].tupleItems, let strideItems = args[3].tupleItems else {
            throw fail("\(g): size and stride must be tuples", op)
        }
        let shape = try ints(sizeItems, "size", op), strides = try ints(strideItems, "stride", op)
        var dtype = st.dtype
        var metaIndex = 6
        if v3 {
            guard args.count >= 7, case let .global(dn) = args[6] else { throw fail("\(g) without a dtype", op) }
            let short = dn.hasPrefix("torch.") ? String(dn.dropFirst(6)) : dn
            guard let d = DType(rawValue: short) else { throw CheckpointError.unsupportedTensor("dtype \(dn)") }
            dtype = d
            metaIndex = 7
        }
        guard let dt = dtype else { throw CheckpointError.unsupportedTensor("an untyped storage without a dtype") }
        var t = TensorRef(dtype: dt, shape: shape, strides: strides, storageOffset: Int(off),
                          data: .storage(key: st.key, byteOffset: st.byteOffset, byteCount: st.byteCount))
        if args.count > metaIndex, case let .dict(meta) = args[metaIndex] {
            for e in meta.entries {
                guard case let .string(k) = e.key else { continue }
                let on: Bool = { if case .bool(true) = e.value { return true }; return false }()
                switch k {
                case "conj": t.conj = on
                case "neg": t.neg = on
                default: throw CheckpointError.unsupportedTensor("tensor metadata '\(Allowlist.printable(k))'")
                }
            }
        }
        if t.conj && !dt.isComplex { t.conj = false }
        try TensorBounds.check(t, storageBytes: st.byteCount, name: nil)
        return t
    }

    func numpyTensor(data: [UInt8], dtype dt: NpDType, shape: [Int], fortran: Bool, _ op: Int) throws -> TensorRef {
        guard let d = DType(numpyCode: dt.code) else {
            throw CheckpointError.unsupportedTensor("numpy dtype '\(Allowlist.printable(dt.code))' (object, string and record arrays cannot be converted)")
        }
        var strides = TensorRef.rowMajorStrides(shape)
        if fortran {
            var acc = 1
            for i in 0 ..< shape.count { strides[i] = acc; acc = acc &* shape[i] }
        }
        var t = TensorRef(dtype: d, shape: shape, strides: strides, storageOffset: 0, data: .inline(data))
        t.bigEndian = dt.order == ">"
        try TensorBounds.check(t, storageBytes: data.count, name: nil)
        guard let n = TensorBounds.numel(shape), n.multipliedReportingOverflow(by: d.size).partialValue == data.count else {
            throw CheckpointError.unsupportedTensor("numpy array data is \(data.count) bytes, its shape \(shape) needs a different size")
        }
        return t
    }

    func build(_ target: Obj, _ state: Obj, at op: Int) throws {
        switch target {
        case .dict, .tensor:
            return // OrderedDict attributes (state_dict `_metadata`), tensor Python attributes: not weights
        case let .ndarray(a):
            guard let s = state.tupleItems, s.count == 5, let shapeItems = s[1].tupleItems, case let .npdtype(dt) = s[2] else {
                throw fail("malformed numpy array state", op)
            }
            let fortran: Bool = { if case .bool(true) = s[3] { return true }; return false }()
            let data: [UInt8]
            switch s[4] {
            case let .bytes(b): data = b
            case let .string(str): data = try { if case let .bytes(b) = try reduce("_codecs.encode", [.string(str), .string("latin1")], at: op) { return b }; return [] }()
            default: throw fail("numpy array data is a \(s[4].kindName)", op)
            }
            a.tensor = try numpyTensor(data: data, dtype: dt, shape: try ints(shapeItems, "shape", op), fortran: fortran, op)
        case let .npdtype(dt):
            guard let s = state.tupleItems, s.count >= 2, case let .string(order) = s[1] else { throw fail("malformed numpy dtype state", op) }
            dt.order = order
        default:
            throw fail("BUILD on a \(target.kindName) is not allowed", op)
        }
    }
}

/// The bounds rule for every view: all of it must lie inside its storage.
enum TensorBounds {
    static func numel(_ shape: [Int]) -> Int? {
        var n = 1
        for s in shape {
            guard s >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: s)
            if o { return nil }
            n = p
        }
        return n
    }

    static func check(_ t: TensorRef, storageBytes: Int, name: String?) throws {
        let what = name.map { "'\($0)' " } ?? ""
        guard t.shape.count == t.strides.count else {
            throw CheckpointError.viewOutOfBounds("\(what)has \(t.shape.count) sizes but \(t.strides.count) strides")
        }
        guard let n = numel(t.shape), n.multipliedReportingOverflow(by: t.dtype.size).overflow == false else {
            throw CheckpointError.viewOutOfBounds("\(what)has an invalid shape \(t.shape)")
        }
        guard t.storageOffset >= 0, t.strides.allSatisfy({ $0 >= 0 }) else {
            throw CheckpointError.viewOutOfBounds("\(what)has a negative offset or stride")
        }
        let es = t.dtype.size
        let elements = storageBytes / es
        if n == 0 {
            guard t.storageOffset <= elements else {
                throw CheckpointError.viewOutOfBounds("\(what)starts at element \(t.storageOffset) of a storage of \(elements)")
            }
            return
        }
        var last = t.storageOffset
        for (s, st) in zip(t.shape, t.strides) {
            let (p, o1) = (s - 1).multipliedReportingOverflow(by: st)
            let (q, o2) = last.addingReportingOverflow(p)
            guard !o1, !o2 else { throw CheckpointError.viewOutOfBounds("\(what)has strides that overflow") }
            last = q
        }
        guard last < elements else {
            throw CheckpointError.viewOutOfBounds("\(what)(shape \(t.shape), stride \(t.strides), offset \(t.storageOffset)) reaches element \(last) of a storage of \(elements) \(t.dtype.rawValue) elements")
        }
    }
}
