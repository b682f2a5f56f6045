/// Everything that can go wrong reading or writing a safetensors file.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    case invalidHeader(String)
    case noSuchTensor(String)
    case wrongSize(String)
    case unsupported(String)
    case writer(String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "safetensors: cannot access \(path): \(reason)"
        case let .invalidHeader(s): return "invalid safetensors file: \(s); re-create it (zoo convert)"
        case let .noSuchTensor(s): return "safetensors: no tensor named '\(s)' in the file"
        case let .wrongSize(s): return "safetensors: \(s)"
        case let .unsupported(s): return "safetensors: \(s)"
        case let .writer(s): return "safetensors writer: \(s)"
        }
    }
}

/// The element types of the safetensors format.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, C64
    case F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0, F4, F6_E2M3, F6_E3M2

    /// Bits per element (F4 and F6 are packed).
    public var bits: Int {
        switch self {
        case .F4: return 4
        case .F6_E2M3, .F6_E3M2: return 6
        case .BOOL, .U8, .I8, .F8_E4M3, .F8_E5M2, .F8_E4M3FNUZ, .F8_E5M2FNUZ, .F8_E8M0: return 8
        case .I16, .U16, .F16, .BF16: return 16
        case .I32, .U32, .F32: return 32
        case .F64, .I64, .U64, .C64: return 64
        }
    }

    /// The byte size of `count` elements, or nil if it is not a whole number of bytes (or overflows).
    public func byteCount(elements count: Int) -> Int? {
        let (b, o) = count.multipliedReportingOverflow(by: bits)
        guard !o, b % 8 == 0 else { return nil }
        return b / 8
    }
}

/// One tensor of a safetensors file.
public struct SafeTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// Byte range inside the data section.
    public var dataOffsets: Range<Int>
    public var byteCount: Int { dataOffsets.count }
    public var numel: Int { shape.reduce(1, *) }
}
