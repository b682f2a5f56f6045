import Foundation
import SafeTensors

extension PyTorchWriter {
    /// Writes the tensors as a checkpoint in mmdetection's form: a dict `{"meta": {str: str}, KEY:
    /// OrderedDict(tensors)}` (KEY is "state_dict"), so the zoo's `mmdet-panoptic-fpn` layout reads it.
    /// Same container and pickle rules as `write(_:to:)`; `torch.load(weights_only=True)` reads it.
    /// Returns the number of tensors written.
    @discardableResult
    public static func write(_ st: SafeTensorsFile, to url: URL, stateDictKey: String, meta: [String: String]) throws -> Int {
        let stem = url.deletingPathExtension().lastPathComponent
        let prefix = stem.isEmpty || !stem.allSatisfy({ $0.isASCII }) ? "archive" : stem
        var pickle = PickleWriter()
        pickle.op(0x80); pickle.byte(2)
        pickle.op(0x7D)                           // EMPTY_DICT (the checkpoint)
        pickle.op(0x28)                           // MARK
        pickle.string("meta")
        pickle.op(0x7D)                           // EMPTY_DICT
        if !meta.isEmpty {
            pickle.op(0x28)
            for (k, v) in meta.sorted(by: { $0.key < $1.key }) { pickle.string(k); pickle.string(v) }
            pickle.op(0x75)                       // SETITEMS
        }
        pickle.string(stateDictKey)
        pickle.global("collections", "OrderedDict"); pickle.op(0x29); pickle.op(0x52)
        var storages: [(key: String, name: String)] = []
        let names = st.names
        for batchStart in stride(from: 0, to: names.count, by: 1000) {
            pickle.op(0x28)
            for name in names[batchStart ..< min(names.count, batchStart + 1000)] {
                let key = String(storages.count)
                storages.append((key, name))
                try pickle.tensor(name: name, info: try st.info(name), key: key)
            }
            pickle.op(0x75)
        }
        pickle.op(0x75)                           // SETITEMS (meta, state_dict)
        pickle.op(0x2E)                           // STOP

        var zip = try ZipWriter(url: url)
        do {
            try zip.add(prefix + "/data.pkl", pickle.bytes)
            try zip.add(prefix + "/.format_version", Array("1".utf8))
            try zip.add(prefix + "/.storage_alignment", Array("64".utf8))
            try zip.add(prefix + "/byteorder", Array("little".utf8))
            for (key, name) in storages {
                try st.withBytes(name) { try zip.add(prefix + "/data/" + key, $0) }
            }
            try zip.add(prefix + "/version", Array("3\n".utf8))
            try zip.finish()
        } catch {
            zip.cancel()
            throw error
        }
        return storages.count
    }
}
