//! A deterministic, mixed corpus for the secret-scanning benchmark: Go, Python and
//! JavaScript sources, Kubernetes YAML, JSON configs, logs and Markdown, with near misses
//! (environment lookups, template references, UUIDs, hashes) and, in about one file in
//! twenty, one of the built-in rules' fake example credentials.

/// A small xorshift generator: the same seed gives the same corpus on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from(b"0123456789abcdef"[self.below(16)])).collect()
    }

    fn uuid(&mut self) -> String {
        format!("{}-{}-{}-{}-{}", self.hex(8), self.hex(4), self.hex(4), self.hex(4), self.hex(12))
    }
}

const WORDS: &[&str] = &[
    "account",
    "request",
    "handler",
    "config",
    "service",
    "client",
    "server",
    "payload",
    "order",
    "user",
    "session",
    "cache",
    "metrics",
    "queue",
    "worker",
    "retry",
    "timeout",
    "buffer",
    "record",
    "event",
    "cluster",
    "node",
    "pod",
    "deploy",
    "namespace",
    "volume",
    "mount",
    "image",
    "label",
    "selector",
];

fn ident(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(WORDS), capitalise(rng.pick(WORDS)))
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn sentence(rng: &mut Rng, words: usize) -> String {
    (0..words).map(|_| rng.pick(WORDS)).collect::<Vec<_>>().join(" ")
}

fn go_file(rng: &mut Rng, out: &mut String) {
    out.push_str("package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\n");
    for _ in 0..20 + rng.below(40) {
        let name = ident(rng);
        out.push_str(&format!(
            "// {} handles the {}.\nfunc {}(ctx context.Context, id string) error {{\n",
            capitalise(&name),
            sentence(rng, 6),
            capitalise(&name)
        ));
        out.push_str(&format!("\tapiKey := os.Getenv(\"{}_API_KEY\")\n", rng.pick(WORDS).to_uppercase()));
        out.push_str(&format!("\tif err := client.Call(ctx, \"{}\", apiKey); err != nil {{\n\t\treturn fmt.Errorf(\"{}: %w\", err)\n\t}}\n", rng.uuid(), sentence(rng, 3)));
        out.push_str(&format!(
            "\ttoken := cfg.{}.Token\n\tlog.Printf(\"{} %s\", token)\n\treturn nil\n}}\n\n",
            capitalise(rng.pick(WORDS)),
            sentence(rng, 4)
        ));
    }
}

fn python_file(rng: &mut Rng, out: &mut String) {
    out.push_str("import os\nimport json\n\n");
    for _ in 0..20 + rng.below(40) {
        let name = ident(rng).to_lowercase();
        out.push_str(&format!(
            "def {name}(request, password=None):\n    \"\"\"{}.\"\"\"\n",
            sentence(rng, 8)
        ));
        out.push_str("    password = os.environ[\"DB_PASSWORD\"]\n");
        out.push_str(&format!("    secret_key = settings.{}\n", rng.pick(WORDS)));
        out.push_str(&format!(
            "    payload = {{\"id\": \"{}\", \"checksum\": \"{}\"}}\n",
            rng.uuid(),
            rng.hex(40)
        ));
        out.push_str(&format!("    return json.dumps(payload)  # {}\n\n", sentence(rng, 5)));
    }
}

fn js_file(rng: &mut Rng, out: &mut String) {
    for _ in 0..20 + rng.below(40) {
        let name = ident(rng);
        out.push_str(&format!("export async function {name}(req, res) {{\n"));
        out.push_str("  const token = process.env.AUTH_TOKEN;\n");
        out.push_str(&format!("  const url = `${{baseUrl}}/{}/${{req.params.id}}`;\n", rng.pick(WORDS)));
        out.push_str(&format!("  const etag = \"{}\";\n", rng.hex(32)));
        out.push_str(&format!(
            "  return fetch(url, {{ headers: {{ Authorization: `Bearer ${{token}}` }} }}); // {}\n}}\n\n",
            sentence(rng, 4)
        ));
    }
}

fn yaml_file(rng: &mut Rng, out: &mut String) {
    for _ in 0..5 + rng.below(15) {
        let app = rng.pick(WORDS);
        out.push_str(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n  labels:\n    app: {app}\nspec:\n  replicas: {}\n  template:\n    spec:\n      containers:\n      - name: {app}\n        image: registry.example.com/{app}:1.{}.{}\n        env:\n        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef:\n              name: {app}-db\n              key: password\n        - name: API_TOKEN\n          value: \"{{{{ .Values.apiToken }}}}\"\n        - name: REQUEST_ID\n          value: \"{}\"\n        resources:\n          limits:\n            memory: 256Mi\n---\n",
            1 + rng.below(5), rng.below(20), rng.below(20), rng.uuid()
        ));
    }
}

fn json_file(rng: &mut Rng, out: &mut String) {
    out.push_str("{\n  \"name\": \"corpus\",\n  \"entries\": [\n");
    for i in 0..50 + rng.below(100) {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str(&format!(
            "    {{\"id\": \"{}\", \"{}\": \"{}\", \"integrity\": \"sha512-{}\", \"enabled\": {}}}",
            rng.uuid(),
            rng.pick(WORDS),
            sentence(rng, 3),
            rng.hex(64),
            rng.below(2) == 0
        ));
    }
    out.push_str("\n  ]\n}\n");
}

fn log_file(rng: &mut Rng, out: &mut String) {
    for i in 0..200 + rng.below(400) {
        out.push_str(&format!(
            "2026-11-27T10:{:02}:{:02}.{:03}Z {} {} request_id={} duration={}ms {}\n",
            (i / 60) % 60,
            i % 60,
            rng.below(1000),
            rng.pick(&["INFO", "WARN", "DEBUG", "ERROR"]),
            rng.pick(WORDS),
            rng.hex(16),
            rng.below(900),
            sentence(rng, 6)
        ));
    }
}

fn markdown_file(rng: &mut Rng, out: &mut String) {
    for _ in 0..10 + rng.below(20) {
        out.push_str(&format!(
            "## {}\n\n{}.\n\n```bash\nexport API_KEY=<your-api-key>\nkubectl apply -f {}.yaml\n```\n\n",
            capitalise(&sentence(rng, 3)),
            sentence(rng, 30),
            rng.pick(WORDS)
        ));
    }
}

/// `files` files, `(path, content)`, about one in twenty holding one of `secrets`.
pub fn generate(files: usize, seed: u64, secrets: &[&str]) -> Vec<(String, String)> {
    let mut rng = Rng::new(seed);
    (0..files)
        .map(|i| {
            let mut text = String::new();
            let (dir, ext) = match rng.below(7) {
                0 => {
                    go_file(&mut rng, &mut text);
                    ("cmd", "go")
                }
                1 => {
                    python_file(&mut rng, &mut text);
                    ("app", "py")
                }
                2 => {
                    js_file(&mut rng, &mut text);
                    ("web/src", "js")
                }
                3 => {
                    yaml_file(&mut rng, &mut text);
                    ("deploy", "yaml")
                }
                4 => {
                    json_file(&mut rng, &mut text);
                    ("config", "json")
                }
                5 => {
                    log_file(&mut rng, &mut text);
                    ("logs", "log")
                }
                _ => {
                    markdown_file(&mut rng, &mut text);
                    ("docs", "md")
                }
            };
            if !secrets.is_empty() && rng.below(20) == 0 {
                let at = text[..text.len() / 2].rfind('\n').map_or(0, |p| p + 1);
                let secret = secrets[rng.below(secrets.len())];
                text.insert_str(at, &format!("{secret}\n"));
            }
            (format!("{dir}/file{i}.{ext}"), text)
        })
        .collect()
}
