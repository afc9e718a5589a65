use waba_bot::graphql::pagination::{CHAT_PAGE_SIZE, PAGE_SIZE, PageSize};

/// The committed `schema.graphql` is what the frontend generates its types from: it must be
/// exactly what the code exports (`waba-bot schema`).
#[test]
fn committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql is committed");
    let exported = waba_bot::schema::sdl();
    assert!(
        committed == exported,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

/// `waba-bot schema` prints the same SDL.
#[test]
fn the_cli_prints_the_schema() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_waba-bot"))
        .arg("schema")
        .output()
        .expect("binary runs");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        waba_bot::schema::sdl()
    );
}

/// Every type and field of our own carries a description (they flow into the frontend's types).
#[test]
fn every_object_type_is_described() {
    let sdl = waba_bot::schema::sdl();
    let mut undocumented = Vec::new();
    let lines: Vec<&str> = sdl.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let is_definition = ["type ", "input ", "enum ", "union ", "scalar "]
            .iter()
            .any(|k| line.starts_with(k));
        // Types that come with async-graphql.
        let builtin = ["type PageInfo"].iter().any(|b| line.starts_with(b));
        if is_definition
            && !builtin
            && !lines[..i].last().is_some_and(|prev| {
                prev.trim_end().ends_with("\"\"\"") || prev.trim_start().starts_with('"')
            })
        {
            undocumented.push(line.to_string());
        }
    }
    assert!(
        undocumented.is_empty(),
        "undocumented types: {undocumented:#?}"
    );
}

/// The scalars the server types are our own, described, and point at their specification.
#[test]
fn scalars_are_ours_and_specified() {
    let sdl = waba_bot::schema::sdl();
    for (scalar, spec) in [
        ("DateTime", "rfc3339"),
        ("Date", "rfc3339#section-5.6"),
        ("E164Phone", "T-REC-E.164"),
        ("TimeZone", "iana.org/time-zones"),
    ] {
        let line = sdl
            .lines()
            .find(|l| l.starts_with(&format!("scalar {scalar} ")))
            .unwrap_or_else(|| panic!("no scalar {scalar}"));
        assert!(
            line.contains("@specifiedBy") && line.contains(spec),
            "{line}"
        );
    }
    assert!(sdl.contains("scalar LocalTime") && sdl.contains("scalar Decimal"));
    assert!(
        !sdl.contains("Implement the DateTime"),
        "a library's default description"
    );
    for field in [
        "phone: E164Phone!",
        "timeZone: TimeZone!",
        "start: LocalTime!",
    ] {
        assert!(sdl.contains(field), "{field}");
    }
}

/// Every argument, input field and enum value is described too (graphql-schema-linter's
/// description rules), read through introspection.
#[tokio::test]
async fn every_argument_input_field_and_enum_value_is_described() {
    let app = crate::helpers::spawn_app().await;
    let answer = app
        .gql(
            None,
            "{ __schema { types { name kind
                fields { name args { name description } }
                inputFields { name description }
                enumValues { name description } } } }",
            serde_json::json!({}),
        )
        .await;
    let mut undescribed = Vec::new();
    let mut first_arguments = Vec::new();
    let blank = |d: &serde_json::Value| d.as_str().is_none_or(|d| d.trim().is_empty());
    for ty in answer.data()["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") {
            continue;
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            for arg in field["args"].as_array().into_iter().flatten() {
                if blank(&arg["description"]) {
                    undescribed.push(format!("{name}.{}({})", field["name"], arg["name"]));
                }
                if arg["name"] == "first" {
                    first_arguments.push(arg["description"].as_str().unwrap_or_default());
                }
            }
        }
        for input in ty["inputFields"].as_array().into_iter().flatten() {
            if blank(&input["description"]) {
                undescribed.push(format!("{name}.{}", input["name"]));
            }
        }
        for value in ty["enumValues"].as_array().into_iter().flatten() {
            if blank(&value["description"]) {
                undescribed.push(format!("{name}::{}", value["name"]));
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "{} undescribed:\n{}",
        undescribed.len(),
        undescribed.join("\n")
    );
    // Every connection's page size is one of the constants, and its `first` says so.
    let stated =
        |PageSize { default, max }: PageSize| format!("Page size, 1 to {max} (default {default}).");
    let sizes = [stated(PAGE_SIZE), stated(CHAT_PAGE_SIZE)];
    assert!(first_arguments.len() >= 5, "{first_arguments:?}");
    assert!(
        first_arguments.iter().all(|d| sizes.iter().any(|s| s == d)),
        "{first_arguments:?}"
    );
}
