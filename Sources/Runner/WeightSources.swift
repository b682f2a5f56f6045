import Foundation
import PanopticFPN
import SafeTensors
import Tensors
import TorchCheckpoint

/// A `.safetensors` file (memory-mapped) as a weight store. The float tensors are copied out on all cores
/// up front (`preload`), or one by one when the model binds them.
public final class SafeTensorsWeightStore: WeightStore {
    public let file: SafeTensorsFile
    public let path: String
    /// Tensors read ahead by `preload`, handed over (and forgotten) by `tensor(_:)`.
    private var loaded: [String: Tensor] = [:]

    public init(path: String) throws {
        self.path = path
        file = try SafeTensorsFile(path: path)
    }

    public var keys: [String] { file.names }

    public func tensor(_ key: String) throws -> Tensor {
        if let t = loaded.removeValue(forKey: key) { return t }
        return try read(key)
    }

    private func read(_ key: String) throws -> Tensor { try Self.read(key, from: file) }

    private static func read(_ key: String, from file: SafeTensorsFile) throws -> Tensor {
        let info = try file.info(key)
        let t = Tensor(shape: info.shape, data: try file.floats(key))
        // The model keeps its own (BatchNorm-folded) copy: give the mapped pages back.
        file.evict(key)
        return t
    }

    /// Copies every float tensor out of the mapping, largest first, spread over the cores (the copy is
    /// bound by page faults, which the cores take in parallel). A tensor that cannot be read is left for
    /// `tensor(_:)` to report.
    public func preload() {
        let file = self.file
        let names = file.names.filter { n in
            guard let i = try? file.info(n) else { return false }
            return [.F32, .F16, .BF16].contains(i.dtype)
        }.sorted { a, b in
            ((try? file.info(a).byteCount) ?? 0) > ((try? file.info(b).byteCount) ?? 0)
        }
        var slots = [Tensor?](repeating: nil, count: names.count)
        slots.withUnsafeMutableBufferPointer { sp in
            guard let base = sp.baseAddress else { return }
            // Each iteration writes its own slot.
            let out = UnsafeSendableMutablePointer(base)
            // Dispatch hands the iterations out one by one, so the cores stay busy to the end.
            DispatchQueue.concurrentPerform(iterations: names.count) { i in
                (out.pointer + i).pointee = try? Self.read(names[i], from: file)
            }
        }
        for (name, t) in zip(names, slots) { if let t { loaded[name] = t } }
    }
}

/// A PyTorch checkpoint (`.pth`, mmdetection layout) converted in memory: the restricted unpickler finds the
/// state dict; each tensor is converted to float32 when the model binds it.
public final class CheckpointWeightStore: WeightStore {
    public let checkpoint: Checkpoint
    public let tensors: [String: TensorRef]
    public let keys: [String]

    public init(path: String) throws {
        checkpoint = try Checkpoint(path: path)
        let layouts = try CheckpointLayout.builtIn()
        guard let layout = CheckpointLayout.detect(checkpoint.root, among: layouts) else {
            throw RunnerError.weights(path: path, reason: "no checkpoint layout fits it; is it an mmdetection Panoptic FPN checkpoint?")
        }
        let match = try layout.match(checkpoint.root)
        var byName: [String: TensorRef] = [:]
        for (name, t) in match.tensors { byName[name] = t }
        tensors = byName
        keys = match.tensors.map(\.name)
    }

    public func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw PanopticFPNError.weightMissing(key) }
        let n = t.numel
        let values: [Float] = try checkpoint.withTensorBytes(t, name: key) { raw in
            switch t.dtype {
            case .float32 where raw.count == 4 * n && 1.littleEndian == 1:
                // Little-endian bytes on a little-endian host: one copy.
                return [Float](unsafeUninitializedCapacity: n) { buf, count in
                    UnsafeMutableRawBufferPointer(buf).copyMemory(from: raw)
                    count = n
                }
            case .float32:
                return (0..<n).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            case .float16:
                return (0..<n).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
            case .bfloat16:
                return (0..<n).map { Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
            case .float64:
                return (0..<n).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
            default:
                throw RunnerError.message("weight '\(key)' is \(t.dtype.rawValue), not a floating-point tensor")
            }
        }
        return Tensor(shape: t.shape, data: values)
    }
}

/// Where a run's weights come from, with a name for logs and journals (so results of different weights
/// never mix); `load` is called once the inputs are checked.
public struct WeightSource: Sendable {
    public var identity: String
    public var load: @Sendable () throws -> WeightStore

    public init(identity: String, load: @escaping @Sendable () throws -> WeightStore) {
        self.identity = identity
        self.load = load
    }

    /// Synthetic weights of the reference recipe (`r50` or `r101`; seed 1 for r50, 3 for r101 by default).
    public static func synthetic(_ arch: String, seed: UInt64? = nil) throws -> WeightSource {
        let a = arch.lowercased()
        guard a == "r50" || a == "r101" else { throw RunnerError.option("synthetic weights are r50 or r101, not \(arch)") }
        let r50 = a == "r50", seed = seed ?? (r50 ? 1 : 3)
        return WeightSource(identity: "synthetic \(a) seed \(seed)") {
            SyntheticWeights.make(spec: try r50 ? ModelSpec.r50 : ModelSpec.r101, seed: seed)
        }
    }

    /// A `.safetensors` or PyTorch (`.pth`, zip or legacy) file, told apart by its first bytes.
    public static func file(_ path: String, identity: String? = nil) -> WeightSource {
        WeightSource(identity: identity ?? path) { try openWeights(path) }
    }

    /// Opens a weights file: a `.safetensors` file is mapped and its tensors copied out on all cores; a
    /// PyTorch checkpoint is read through its layout (converted tensor by tensor as the model binds it).
    public static func openWeights(_ path: String) throws -> WeightStore {
        guard let fh = FileHandle(forReadingAtPath: path) else {
            throw RunnerError.weights(path: path, reason: "cannot open the weights file")
        }
        let head = (try? fh.read(upToCount: 512)).map { [UInt8]($0) } ?? []
        try? fh.close()
        do {
            switch FileKind.detect(head) {
            case .safetensors:
                let store = try SafeTensorsWeightStore(path: path)
                store.preload()
                return store
            case .zip, .legacy, .pickle: return try CheckpointWeightStore(path: path)
            default: throw RunnerError.weights(path: path, reason: "neither a .safetensors nor a PyTorch checkpoint")
            }
        } catch let e as RunnerError { throw e } catch {
            throw RunnerError.weights(path: path, reason: "\(error)")
        }
    }
}
