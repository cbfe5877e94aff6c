import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { domainErrorToConnect } from "./domain-error-to-connect.js";
import { ConflictError, NotFoundError, RefusedError, UnavailableError } from "./domain-errors.js";

class NoSuchThing extends NotFoundError {}

describe("domainErrorToConnect", () => {
  it("maps each kind of domain error, subclasses included, to its code with its message", () => {
    expect(domainErrorToConnect(new NoSuchThing("thing 1 not found"))).toMatchObject({ code: Code.NotFound, rawMessage: "thing 1 not found" });
    expect(domainErrorToConnect(new RefusedError("no"))).toMatchObject({ code: Code.FailedPrecondition, rawMessage: "no" });
    expect(domainErrorToConnect(new ConflictError("taken"))).toMatchObject({ code: Code.AlreadyExists, rawMessage: "taken" });
    expect(domainErrorToConnect(new UnavailableError("down"))).toMatchObject({ code: Code.Unavailable, rawMessage: "down" });
  });

  it("lets a ConnectError through and hides anything else behind INTERNAL, keeping the cause", () => {
    const given = new ConnectError("bad field", Code.InvalidArgument);
    expect(domainErrorToConnect(given)).toBe(given);
    const bug = new Error("SQLITE_CONSTRAINT_CHECK");
    const mapped = domainErrorToConnect(bug);
    expect(mapped).toMatchObject({ code: Code.Internal, rawMessage: "internal error" });
    expect(mapped.cause).toBe(bug);
  });
});
