import { createServer, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** One span as the processes exported it over OTLP. */
export interface SinkSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  /** "" for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** A tiny OTLP/HTTP (protobuf) trace receiver on 127.0.0.1, keeping every span it is sent. */
export interface OtlpSink {
  /** `http://127.0.0.1:<port>`: the processes' OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: SinkSpan[];
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const spans: SinkSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") return void res.writeHead(404).end();
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      spans.push(...decodeExportRequest(body));
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The fields of each embedded message of `bytes`, by field number, read with `read`. */
function fields(bytes: Uint8Array, read: (field: number, reader: BinaryReader, wireType: WireType) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (!read(field, reader, wireType)) reader.skip(wireType);
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** opentelemetry.proto.common.v1.KeyValue → [key, value] (string, bool, int and double values). */
function keyValue(bytes: Uint8Array): [string, string | number | boolean] {
  let key = "";
  let value: string | number | boolean = "";
  fields(bytes, (field, reader) => {
    if (field === 1) key = reader.string();
    else if (field === 2) {
      fields(reader.bytes(), (f, r) => {
        if (f === 1) value = r.string();
        else if (f === 2) value = r.bool();
        else if (f === 3) value = Number(r.int64());
        else if (f === 4) value = r.double();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return [key, value];
}

/** opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest → its spans, each with its resource's service.name. */
function decodeExportRequest(bytes: Uint8Array): SinkSpan[] {
  const out: SinkSpan[] = [];
  fields(bytes, (field, reader) => {
    if (field !== 1) return false;
    let service = "";
    const scopeSpans: Uint8Array[] = [];
    fields(reader.bytes(), (f, r) => {
      if (f === 1) {
        fields(r.bytes(), (rf, rr) => {
          if (rf !== 1) return false;
          const [key, value] = keyValue(rr.bytes());
          if (key === "service.name") service = String(value);
          return true;
        });
      } else if (f === 2) scopeSpans.push(r.bytes());
      else return false;
      return true;
    });
    for (const scope of scopeSpans) {
      fields(scope, (sf, sr) => {
        if (sf !== 2) return false;
        const span = {
          service,
          traceId: "",
          spanId: "",
          parentSpanId: "",
          name: "",
          kind: 0,
          attributes: {} as Record<string, string | number | boolean>,
        };
        fields(sr.bytes(), (pf, pr) => {
          if (pf === 1) span.traceId = hex(pr.bytes());
          else if (pf === 2) span.spanId = hex(pr.bytes());
          else if (pf === 4) span.parentSpanId = hex(pr.bytes());
          else if (pf === 5) span.name = pr.string();
          else if (pf === 6) span.kind = pr.int32();
          else if (pf === 9) {
            const [key, value] = keyValue(pr.bytes());
            span.attributes[key] = value;
          } else return false;
          return true;
        });
        out.push(span);
        return true;
      });
    }
    return true;
  });
  return out;
}
