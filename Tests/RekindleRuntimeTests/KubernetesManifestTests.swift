import Foundation
import RekindleRuntime
import Testing
import Yams

/// deploy/kubernetes/, parsed by Yams: the objects refer to each other by the names they really
/// have, the probes ask /health, and the configuration they mount is one `rekindle run` accepts.
@Suite struct KubernetesManifestTests {
    static let dir = CLI.packageRoot.appendingPathComponent("deploy/kubernetes")

    /// Every object of every file the kustomization lists, by kind.
    static func objects() throws -> [String: [String: Any]] {
        let kustomization = try map(Yams.load(yaml: String(contentsOf: dir.appendingPathComponent("kustomization.yaml"), encoding: .utf8)))
        let files = try list(kustomization["resources"]).map { $0 as! String }
        let present = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }
        #expect(Set(files) == Set(present), "kustomization.yaml lists \(files.sorted()), the directory has \(present.sorted())")
        var byKind: [String: [String: Any]] = [:]
        for file in files {
            for document in try Yams.load_all(yaml: String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)) {
                let object = try map(document)
                let kind = try #require(object["kind"] as? String, "\(file): no kind")
                #expect(byKind[kind] == nil, "\(file): a second \(kind)")
                byKind[kind] = object
            }
        }
        return byKind
    }

    static func map(_ value: Any?, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(value as? [String: Any], "expected a mapping, got \(String(describing: value))", sourceLocation: sourceLocation)
    }

    static func list(_ value: Any?, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Any] {
        try #require(value as? [Any], "expected a list, got \(String(describing: value))", sourceLocation: sourceLocation)
    }

    static func name(_ object: [String: Any]) throws -> String { try map(object["metadata"])["name"] as! String }

    @Test func theObjectsReferToEachOtherByTheirNames() throws {
        let o = try Self.objects()
        #expect(Set(o.keys) == ["StatefulSet", "Service", "ConfigMap", "Secret"])
        let set = try #require(o["StatefulSet"]), service = try #require(o["Service"])
        let configMap = try #require(o["ConfigMap"]), secret = try #require(o["Secret"])
        #expect(set["apiVersion"] as? String == "apps/v1")
        let spec = try Self.map(set["spec"])
        let template = try Self.map(spec["template"])
        let podLabels = try Self.map(Self.map(template["metadata"])["labels"]) as! [String: String]
        let podSpec = try Self.map(template["spec"])

        // The governing Service: headless, selecting these pods, its port the container's.
        #expect(spec["serviceName"] as? String == (try Self.name(service)))
        let serviceSpec = try Self.map(service["spec"])
        #expect(serviceSpec["clusterIP"] as? String == "None")
        for (k, v) in try Self.map(serviceSpec["selector"]) as! [String: String] { #expect(podLabels[k] == v, "Service selector \(k)") }
        for (k, v) in try Self.map(Self.map(spec["selector"])["matchLabels"]) as! [String: String] { #expect(podLabels[k] == v, "matchLabels \(k)") }

        let containers = try Self.list(podSpec["containers"]).map { try Self.map($0) }
        let rekindle = try #require(containers.first { $0["name"] as? String == "rekindle" })
        let portNames = Set(try Self.list(rekindle["ports"]).map { try Self.map($0)["name"] as! String })
        for port in try Self.list(serviceSpec["ports"]) {
            #expect(portNames.contains(try Self.map(port)["targetPort"] as! String))
        }

        // Volumes: each mount has its volume; each volume its ConfigMap or Secret and their keys.
        let volumes = try Self.list(podSpec["volumes"]).map { try Self.map($0) }
        let claims = try Self.list(spec["volumeClaimTemplates"]).map { try Self.name(Self.map($0)) }
        let volumeNames = Set(volumes.map { $0["name"] as! String } + claims)
        for c in containers {
            for mount in try Self.list(c["volumeMounts"]) {
                let m = try Self.map(mount)
                #expect(volumeNames.contains(m["name"] as! String), "\(c["name"]!): mount \(m["name"]!) has no volume")
            }
        }
        let configKeys = Set((try Self.map(configMap["data"])).keys)
        let secretKeys = Set((try Self.map(secret["stringData"])).keys)
        for v in volumes {
            if let cm = v["configMap"] as? [String: Any] {
                #expect(cm["name"] as? String == (try Self.name(configMap)))
                for item in try Self.list(cm["items"]) { #expect(configKeys.contains(try Self.map(item)["key"] as! String)) }
            }
            if let s = v["secret"] as? [String: Any] {
                #expect(s["secretName"] as? String == (try Self.name(secret)))
                for item in try Self.list(s["items"]) { #expect(secretKeys.contains(try Self.map(item)["key"] as! String)) }
            }
        }
        for e in try Self.list(rekindle["env"]) {
            guard let ref = (try Self.map(e)["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any] else { continue }
            #expect(ref["name"] as? String == (try Self.name(secret)))
            #expect(secretKeys.contains(ref["key"] as! String))
        }

        // Probes: readiness asks /health on the status port, which needs no token.
        let readiness = try Self.map(Self.map(rekindle["readinessProbe"])["httpGet"])
        #expect(readiness["path"] as? String == "/health")
        #expect(portNames.contains(readiness["port"] as! String))
        let liveness = try Self.map(Self.map(rekindle["livenessProbe"])["tcpSocket"])
        #expect(portNames.contains(liveness["port"] as! String))

        // The image's user (deploy/Containerfile: USER 10001) and a memory request for every container.
        let containerfile = try String(contentsOf: CLI.packageRoot.appendingPathComponent("deploy/Containerfile"), encoding: .utf8)
        let security = try Self.map(podSpec["securityContext"])
        #expect(containerfile.contains("\nUSER \(security["runAsUser"] as! Int):\(security["runAsGroup"] as! Int)\n"))
        for c in containers {
            let requests = try Self.map(Self.map(c["resources"])["requests"])
            #expect(requests["memory"] != nil && requests["cpu"] != nil, "\(c["name"]!): no requests")
        }
    }

    /// Mi and Gi quantities in bytes.
    static func bytes(_ quantity: String) -> Double? {
        if quantity.hasSuffix("Mi") { return Double(quantity.dropLast(2)).map { $0 * 1_048_576 } }
        if quantity.hasSuffix("Gi") { return Double(quantity.dropLast(2)).map { $0 * 1_073_741_824 } }
        return nil
    }

    @Test func theMemoryRequestHoldsTheStatedCustomersAtTheMeasuredBytesEach() throws {
        // deploy/README.md, "Capacity": 100 MiB + 4.4 MiB per task + 555 bytes per customer (the
        // customer part x 1.5); 64 partitions over the replicas, 1.6 million customers per pod.
        let o = try Self.objects()
        let spec = try Self.map(o["StatefulSet"]!["spec"])
        let podSpec = try Self.map(Self.map(spec["template"])["spec"])
        let rekindle = try Self.list(podSpec["containers"]).map { try Self.map($0) }.first { $0["name"] as? String == "rekindle" }!
        let resources = try Self.map(rekindle["resources"])
        let request = try #require(Self.bytes(try Self.map(resources["requests"])["memory"] as! String))
        let limit = try #require(Self.bytes(try Self.map(resources["limits"])["memory"] as! String))
        let replicas = try #require(spec["replicas"] as? Int)
        let tasksPerPod = (64.0 / Double(replicas)).rounded(.up)
        let mebibyte = 1_048_576.0
        #expect(request >= 100 * mebibyte + 4.4 * mebibyte * tasksPerPod + 555 * 1_600_000 * 1.5)
        #expect(limit > request)
    }

    @Test func theMountedConfigurationIsOneRunAccepts() throws {
        let o = try Self.objects()
        let data = try Self.map(o["ConfigMap"]!["data"]) as! [String: String]
        let podSpec = try Self.map(Self.map(Self.map(o["StatefulSet"]!["spec"])["template"])["spec"])
        let containers = try Self.list(podSpec["containers"]).map { try Self.map($0) }
        let rekindle = containers.first { $0["name"] as? String == "rekindle" }!
        // Where each volume is mounted, and the file paths its items make there.
        var mounts: [String: String] = [:]
        for m in try Self.list(rekindle["volumeMounts"]) {
            let mount = try Self.map(m)
            mounts[mount["name"] as! String] = mount["mountPath"] as? String
        }
        var files: [String: String] = [:]  // path in the pod -> ConfigMap key or "secret:KEY"
        for v in try Self.list(podSpec["volumes"]).map({ try Self.map($0) }) {
            let source = (v["configMap"] ?? v["secret"]) as! [String: Any]
            for item in try Self.list(source["items"]).map({ try Self.map($0) }) {
                let path = "\(mounts[v["name"] as! String]!)/\(item["path"] as! String)"
                files[path] = (v["secret"] == nil ? "" : "secret:") + (item["key"] as! String)
            }
        }

        let args = rekindle["args"] as! [String]
        let configPath = try #require(args.firstIndex(of: "--config").map { args[$0 + 1] })
        let configKey = try #require(files[configPath], "--config \(configPath) is not a mounted file")
        let local = try CLI.temporaryDirectory()
        let configFile = local.appendingPathComponent("rekindle.yaml")
        try data[configKey]!.write(to: configFile, atomically: true, encoding: .utf8)
        let c = try RunConfiguration.load(file: configFile.path, environment: [:])
        #expect(c.bootstrap?.isEmpty == false)
        let rulesKey = try #require(c.rulesPath.flatMap { files[$0] }, "rules: \(c.rulesPath ?? "none") is not a mounted file")
        #expect(files[try #require(c.httpTokenFile)] == "secret:http-token")
        #expect(c.snapshotDir == mounts["snapshots"])
        let host = try #require(StatusServer.parseAddress(c.http)).host
        #expect(!StatusServer.isLoopback(host: host), "probes reach the pod's address")

        // The rule file is one `rekindle rules check` accepts, and the reloader watches it.
        let rulesFile = local.appendingPathComponent("rules.yaml")
        try data[rulesKey]!.write(to: rulesFile, atomically: true, encoding: .utf8)
        let check = try CLI.rekindle(["rules", "check", rulesFile.path])
        #expect(check.status == 0, "\(check.stderr)")
        let reloader = try #require(containers.first { $0["name"] as? String == "rules-reloader" })
        #expect((reloader["command"] as! [String]).joined().contains("file=\(c.rulesPath!)\n"))
        #expect(podSpec["shareProcessNamespace"] as? Bool == true, "the reloader signals rekindle in the other container")
    }
}
