import Foundation
import PanopticFPN
import SafeTensors
import Tensors
import TorchCheckpoint

/// A `.safetensors` file (memory-mapped) as a weight store. The float tensors are copied out on all cores
/// up front (`preload`), or one by one when the model binds them.
final class SafeTensorsWeightStore: WeightStore {
    let file: SafeTensorsFile
    let path: String
    /// Tensors read ahead by `preload`, handed over (and forgotten) by `tensor(_:)`.
    private var loaded: [String: Tensor] = [:]

    init(path: String) throws {
        self.path = path
        file = try SafeTensorsFile(path: path)
    }

    var keys: [String] { file.names }

    func tensor(_ key: String) throws -> Tensor {
        if let t = loaded.removeValue(forKey: key) { return t }
        return try read(key)
    }

    private func read(_ key: String) throws -> Tensor {
        let info = try file.info(key)
        let t = Tensor(shape: info.shape, data: try file.floats(key))
        // The model keeps its own (BatchNorm-folded) copy: give the mapped pages back.
        file.evict(key)
        return t
    }

    /// Copies every float tensor out of the mapping, largest first, spread over the cores (the copy is
    /// bound by page faults, which the cores take in parallel). A tensor that cannot be read is left for
    /// `tensor(_:)` to report.
    func preload() {
        let names = file.names.filter { n in
            guard let i = try? file.info(n) else { return false }
            return [.F32, .F16, .BF16].contains(i.dtype)
        }.sorted { a, b in
            ((try? file.info(a).byteCount) ?? 0) > ((try? file.info(b).byteCount) ?? 0)
        }
        var slots = [Tensor?](repeating: nil, count: names.count)
        slots.withUnsafeMutableBufferPointer { sp in
            guard let out = sp.baseAddress else { return }
            // Dispatch hands the iterations out one by one, so the cores stay busy to the end.
            DispatchQueue.concurrentPerform(iterations: names.count) { i in
                (out + i).pointee = try? read(names[i])
            }
        }
        for (name, t) in zip(names, slots) { if let t { loaded[name] = t } }
    }
}


/// A PyTorch checkpoint (`.pth`, mmdetection layout) converted in memory: the restricted unpickler finds the
/// state dict; each tensor is converted to float32 when the model binds it.
final class CheckpointWeightStore: WeightStore {
    let checkpoint: Checkpoint
    let tensors: [String: TensorRef]
    let keys: [String]

    init(path: String) throws {
        checkpoint = try Checkpoint(path: path)
        let layouts = try CheckpointLayout.builtIn()
        guard let layout = CheckpointLayout.detect(checkpoint.root, among: layouts) else {
            throw CLIError(message: "\(path): no checkpoint layout fits it; is it an mmdetection Panoptic FPN checkpoint?")
        }
        let match = try layout.match(checkpoint.root)
        var byName: [String: TensorRef] = [:]
        for (name, t) in match.tensors { byName[name] = t }
        tensors = byName
        keys = match.tensors.map(\.name)
    }

    func tensor(_ key: String) throws -> Tensor {
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
                throw CLIError(message: "weight '\(key)' is \(t.dtype.rawValue), not a floating-point tensor")
            }
        }
        return Tensor(shape: t.shape, data: values)
    }
}
