// Compiled with `tsc --strict` against the types openapi-typescript generates from the hub's
// contract (tests/hub/api/test_generated_clients.py): what a TypeScript tool builder writes.
import type { components, operations, paths } from "./hub-api";

type Schemas = components["schemas"];
type Ticket = Schemas["TicketPublic"];

// Every 422 is a ValidationProblem: errors name each field.
export function fieldsOf(problem: Schemas["ValidationProblem"]): string[] {
  return problem.errors.map((error) => `${error.field}: ${error.message}`);
}

// Output enums are unions, not strings.
export function isOpen(ticket: Ticket): boolean {
  const status: "open" | "pending" | "closed" | "resolved" = ticket.status;
  return status === "open";
}

// The create body takes the names the ticket answers with.
export const create: Schemas["TicketCreate"] = {
  subject: "洗碗机不出水", contact_mobile: "13812345678", channel: "web",
};

// Every list is one envelope.
type Items<P extends keyof paths> = paths[P] extends {
  get: { responses: { 200: { content: { "application/json": { items: infer I; next_cursor?: string | null } } } } };
} ? I : never;
export const lists: [Items<"/tickets">, Items<"/customers">, Items<"/outbox">,
  Items<"/dead-letters">, Items<"/imports">, Items<"/runs">, Items<"/jobs">,
  Items<"/connections">, Items<"/audit">, Items<"/webhook-events">, Items<"/kb/search">] =
  [[], [], [], [], [], [], [], [], [], [], []];

// Operation ids are what clients call.
export type ResolveBody = operations["tickets.resolve"]["requestBody"];
