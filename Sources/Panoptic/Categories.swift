/// The 40 evaluated BDD100K panoptic categories, in the order of `configs/pan_seg.toml`
/// (ids 1...30 stuff, 31...40 things; id 0 is "unlabeled" and never evaluated).
public enum BDD100K {
    /// Category names by id; index 0 is "unlabeled".
    public static let categoryNames: [String] = [
        "unlabeled",
        "dynamic", "ego vehicle", "ground", "static", "parking", "rail track", "road", "sidewalk",
        "bridge", "building", "fence", "garage", "guard rail", "tunnel", "wall", "banner",
        "billboard", "lane divider", "parking sign", "pole", "polegroup", "street light",
        "traffic cone", "traffic device", "traffic light", "traffic sign", "traffic sign frame",
        "terrain", "vegetation", "sky",
        "person", "rider", "bicycle", "bus", "car", "caravan", "motorcycle", "trailer", "train", "truck",
    ]

    /// Number of evaluated categories (ids 1...40).
    public static let evaluatedCount = 40
    /// Ids 1...30 are stuff.
    public static let stuffIDs = 1...30
    /// Ids 31...40 are things.
    public static let thingIDs = 31...40

    /// The category id (1...40) of an evaluated category name, nil otherwise (including "unlabeled").
    public static func id(of name: String) -> Int? {
        guard let i = categoryIndex[name], i >= 1 else { return nil }
        return i
    }

    public static func isThing(_ id: Int) -> Bool { thingIDs.contains(id) }

    /// The class order of the zoo's models (`BDD100KPanSegDataset.CLASSES`): the 10 things, then
    /// the 30 stuff classes. Model label `i` is `modelClasses[i]`; label 40 is VOID.
    public static let modelClasses: [String] = Array(categoryNames[31...40]) + Array(categoryNames[1...30])

    private static let categoryIndex: [String: Int] = {
        var d: [String: Int] = [:]
        for (i, n) in categoryNames.enumerated() { d[n] = i }
        return d
    }()
}
