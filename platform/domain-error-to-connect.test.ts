import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { domainErrorToConnect } from "./domain-error-to-connect.js";
import { ConflictError, NotFoundError, RefusedError } from "./domain-errors.js";

class NoSuchThing extends NotFoundError {}

describe("domainErrorToConnect", () => {
  it("maps each kind of domain error, subclasses included, to its code with its message", () => {
    expect(domainErrorToConnect(new NoSuchThing("thing 1 not found"))).toMatchObject({ code: Code.NotFound, rawMessage: "thing 1 not found" });
    expect(domainErrorToConnect(new RefusedError("no"))).toMatchObject({ code: Code.FailedPrecondition, rawMessage: "no" });
    expect(domainErrorToConnect(new ConflictError("taken"))).toMatchObject({ code: Code.AlreadyExists, rawMessage: "taken" });
  });

  it("lets a ConnectError through and hides anything else behind INTERNAL, keeping the cause", () => {
    const given = new ConnectError("bad field", Code.InvalidArgument);
    expect(domainErrorToConnect(given)).toBe(given);
    const bug = new Error("SQLITE_CONSTRAINT_CHECK");
    const mapped = domainErrorToConnect(bug);
    expect(mapped).toMatchObject({ code: Code.Internal, rawMessage: "internal error" });
    expect(mapped.cause).toBe(bug);
  });

  it("answers UNAVAILABLE, retryable, when the service's PostgreSQL connection was lost", () => {
    // A closed SQLite database is a bug of ours, not an outage.
    expect(domainErrorToConnect(new TypeError("The database connection is not open"))).toMatchObject({ code: Code.Internal });
    const restarting = Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
    expect(domainErrorToConnect(restarting)).toMatchObject({ code: Code.Unavailable });
    expect(domainErrorToConnect(new Error("Connection terminated unexpectedly"))).toMatchObject({ code: Code.Unavailable });
    expect(domainErrorToConnect(Object.assign(new Error("duplicate key"), { code: "23505" }))).toMatchObject({ code: Code.Internal });
  });
});
