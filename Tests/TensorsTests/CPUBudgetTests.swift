import XCTest
import Tensors

final class CPUBudgetTests: XCTestCase {
    func testCPUMax() {
        XCTAssertEqual(CPUBudget.parseCPUMax("200000 100000\n"), 2.0)
        XCTAssertEqual(CPUBudget.parseCPUMax("150000 100000"), 1.5)
        XCTAssertNil(CPUBudget.parseCPUMax("max 100000\n"))
        XCTAssertNil(CPUBudget.parseCPUMax(""))
        XCTAssertNil(CPUBudget.parseCPUMax("abc 100000"))
        XCTAssertNil(CPUBudget.parseCPUMax("100000 0"))
    }

    func testCgroupPath() {
        XCTAssertEqual(CPUBudget.parseCgroupV2Path("0::/kubepods/pod1/c1\n"), "/kubepods/pod1/c1")
        XCTAssertEqual(CPUBudget.parseCgroupV2Path("1:cpu:/x\n0::/user.slice\n"), "/user.slice")
        XCTAssertNil(CPUBudget.parseCgroupV2Path("0::/../../etc\n"))
        XCTAssertNil(CPUBudget.parseCgroupV2Path("1:cpu:/x\n"))
    }

    func testCount() {
        XCTAssertEqual(CPUBudget.parseCount(" 4 "), 4)
        XCTAssertNil(CPUBudget.parseCount("0"))
        XCTAssertNil(CPUBudget.parseCount("-2"))
        XCTAssertNil(CPUBudget.parseCount("four"))
        XCTAssertNil(CPUBudget.parseCount(nil))
    }

    func testDecide() {
        let a = CPUBudget.decide(online: 16, affinity: 2, quota: 2.0, quotaText: "200000/100000",
                                 slurm: nil, requested: nil)
        XCTAssertEqual(a.threads, 2)
        XCTAssertEqual(a.reason, "affinity 2 of 16 CPUs; cgroup cpu.max 200000/100000")
        let b = CPUBudget.decide(online: 16, affinity: 16, quota: 1.5, quotaText: nil, slurm: nil, requested: nil)
        XCTAssertEqual(b.threads, 2)
        let c = CPUBudget.decide(online: 16, affinity: 16, quota: nil, quotaText: nil, slurm: 4, requested: 8)
        XCTAssertEqual(c.threads, 4)
        XCTAssertNotNil(c.warning)
        let d = CPUBudget.decide(online: 16, affinity: nil, quota: nil, quotaText: nil, slurm: nil, requested: 3)
        XCTAssertEqual(d.threads, 3)
        XCTAssertNil(d.warning)
    }

    func testDetectObeysEnvironment() {
        let b = CPUBudget.detect(environment: ["ZOO_THREADS": "1"])
        XCTAssertEqual(b.threads, 1)
        let c = CPUBudget.detect(environment: ["SLURM_CPUS_PER_TASK": "1"])
        XCTAssertEqual(c.threads, 1)
    }
}
