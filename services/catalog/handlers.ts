import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceHandlers } from "#platform/grpc-server.js";
import { CatalogService, type ProductSchema } from "#gen/saga/catalog/v1/catalog_pb.js";
import { failIfDemoSaysSo } from "#platform/demo-failure.js";
import type { DemoMode } from "#platform/demo-mode.js";
import { checkId, checkQuantityLines } from "#platform/field-rules.js";
import { mapHandlerErrors } from "#platform/map-handler-errors.js";
import type { Catalog, Product } from "./catalog.js";
import { toConnectError } from "./errors.js";

function toProductMessage(p: Product): MessageInitShape<typeof ProductSchema> {
  return { productId: p.productId, name: p.name, priceCents: BigInt(p.priceCents) };
}

/**
 * CatalogService handlers: validate the request (INVALID_ARGUMENT naming the field), turn
 * proto into domain values and back. In demo mode PriceOrder, the saga's catalog step, may
 * fail at random.
 */
export function catalogHandlers(catalog: Catalog, demo: DemoMode): ServiceHandlers<typeof CatalogService> {
  const impl: ServiceHandlers<typeof CatalogService> = {
    async getProduct(req) {
      const productId = checkId(req.productId, "product_id");
      return { product: toProductMessage(await catalog.getProduct(productId)) };
    },
    async listProducts() {
      return { products: (await catalog.listProducts()).map(toProductMessage) };
    },
    async priceOrder(req) {
      const lines = checkQuantityLines(req.lines);
      await failIfDemoSaysSo(demo);
      const order = await catalog.priceOrder(lines);
      return {
        lines: order.lines.map((l) => ({
          productId: l.productId,
          quantity: l.quantity,
          unitPriceCents: BigInt(l.unitPriceCents),
          lineTotalCents: BigInt(l.lineTotalCents),
        })),
        totalCents: BigInt(order.totalCents),
      };
    },
  };
  return mapHandlerErrors(impl, toConnectError);
}
