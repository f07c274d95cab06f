//! `docs/api.yaml` and the server describe the same routes.

use std::collections::BTreeSet;

use yaml_rust2::{Yaml, YamlLoader};

fn documented_routes() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.yaml");
    let text = std::fs::read_to_string(path).expect("docs/api.yaml is readable");
    let docs = YamlLoader::load_from_str(&text).expect("docs/api.yaml is valid YAML");
    let doc = &docs[0];
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let paths = doc["paths"].as_hash().expect("the document has paths");
    let mut routes = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().expect("paths are strings");
        for (method, operation) in item.as_hash().expect("a path item is a map") {
            let method = method.as_str().expect("methods are strings");
            assert!(
                !matches!(operation["responses"], Yaml::BadValue),
                "{method} {path} documents its responses"
            );
            routes.insert((method.to_uppercase(), path.to_owned()));
        }
    }
    routes
}

#[test]
fn every_documented_route_is_served_and_every_served_route_is_documented() {
    let served: BTreeSet<_> = egov_sim::http::route_table().into_iter().collect();
    let documented = documented_routes();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in docs/api.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in docs/api.yaml but not served: {unserved:?}"
    );
}
