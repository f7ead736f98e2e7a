//! Commerce interactive messages: single product, product list, catalog, order details and
//! order status.
//!
//! DataOptix does not sell through WhatsApp yet, but these bodies are part of Meta's official
//! send examples and the simulator must understand every body a real client may send, so they
//! are modelled with the same care. Amounts are integers with an `offset` (value 1500 with
//! offset 100 is 15.00), exactly as Meta transmits them, so no float rounding can creep in.

use serde::{Deserialize, Serialize};

use super::interactive::{Header, Interactive, InteractiveKind};
use super::tags;

/// The action of a single-product message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductAction {
    /// The catalog linked to the WhatsApp Business Account.
    pub catalog_id: String,
    /// The product (SKU) in that catalog.
    pub product_retailer_id: String,
}

/// The action of a multi-product message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductListAction {
    /// The catalog linked to the WhatsApp Business Account.
    pub catalog_id: String,
    /// One to ten sections, 30 products at most in total.
    pub sections: Vec<ProductSection>,
}

/// A titled group of products (multi-product messages and MPM template buttons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSection {
    /// Section title (≤ 24 characters), required when there is more than one section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The products.
    pub product_items: Vec<ProductItem>,
}

impl ProductSection {
    /// A titled section listing the given product retailer ids.
    pub fn new<I, S>(title: impl Into<String>, product_retailer_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            title: Some(title.into()),
            product_items: product_retailer_ids
                .into_iter()
                .map(|id| ProductItem {
                    product_retailer_id: id.into(),
                })
                .collect(),
        }
    }
}

/// One product of a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductItem {
    /// The product (SKU) in the catalog.
    pub product_retailer_id: String,
}

/// The action of a catalog message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogMessageAction {
    /// Always `"catalog_message"`.
    pub name: tags::CatalogMessage,
    /// Optional thumbnail choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<CatalogMessageParameters>,
}

impl CatalogMessageAction {
    /// Shows the product `product_retailer_id` as the catalog thumbnail.
    pub fn thumbnail(product_retailer_id: impl Into<String>) -> Self {
        Self {
            name: tags::CatalogMessage,
            parameters: Some(CatalogMessageParameters {
                thumbnail_product_retailer_id: Some(product_retailer_id.into()),
            }),
        }
    }
}

/// Parameters of a catalog message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogMessageParameters {
    /// The product shown as thumbnail; Meta picks the first one if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_product_retailer_id: Option<String>,
}

/// The action of an order-details message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetailsAction {
    /// Always `"review_and_pay"`.
    pub name: tags::ReviewAndPay,
    /// The order.
    pub parameters: OrderDetails,
}

/// An order the customer can review and pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    /// The business's unique id for this order; later `order_status` messages refer to it.
    pub reference_id: String,
    /// Digital or physical goods.
    #[serde(rename = "type")]
    pub goods_type: GoodsType,
    /// Payment method family, e.g. `"upi"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type: Option<String>,
    /// Name of the payment configuration set up in WhatsApp Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_configuration: Option<String>,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Total to pay.
    pub total_amount: Amount,
    /// The order itself.
    pub order: Order,
}

/// Digital or physical goods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoodsType {
    /// `digital-goods`.
    DigitalGoods,
    /// `physical-goods`.
    PhysicalGoods,
}

/// A money amount: `value / offset` in the order's currency (1500 with offset 100 is 15.00).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// Amount multiplied by `offset`.
    pub value: i64,
    /// The divisor, typically 100.
    pub offset: u32,
    /// Optional explanation (tax, shipping and discount lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Name of the discount programme (discount lines only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_program_name: Option<String>,
}

impl Amount {
    /// `value / offset`.
    pub fn new(value: i64, offset: u32) -> Self {
        Self {
            value,
            offset,
            description: None,
            discount_program_name: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// The order of an order-details message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Order status; `pending` when first sent.
    pub status: OrderStatus,
    /// The catalog the items come from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<String>,
    /// The items.
    pub items: Vec<OrderItem>,
    /// Sum of the items.
    pub subtotal: Amount,
    /// Tax.
    pub tax: Amount,
    /// Shipping cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Amount>,
    /// Discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Amount>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    /// The product id in the business's systems or catalog.
    pub retailer_id: String,
    /// Product name.
    pub name: String,
    /// Unit price.
    pub amount: Amount,
    /// Quantity.
    pub quantity: u32,
    /// Discounted unit price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_amount: Option<Amount>,
    /// Country of origin (physical goods in India).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_of_origin: Option<String>,
    /// Importer name (physical goods in India).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importer_name: Option<String>,
}

/// Status of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Waiting for payment.
    Pending,
    /// Being prepared.
    Processing,
    /// Some items shipped.
    PartiallyShipped,
    /// All items shipped.
    Shipped,
    /// Delivered / done.
    Completed,
    /// Cancelled.
    Canceled,
}

/// The action of an order-status message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatusAction {
    /// Always `"review_order"`.
    pub name: tags::ReviewOrder,
    /// Which order, and its new status.
    pub parameters: OrderStatusParameters,
}

/// Which order changed, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatusParameters {
    /// The `reference_id` of the earlier order-details message.
    pub reference_id: String,
    /// The new status.
    pub order: OrderStatusUpdate,
}

impl OrderStatusParameters {
    /// Moves order `reference_id` to `status`.
    pub fn new(reference_id: impl Into<String>, status: OrderStatus) -> Self {
        Self {
            reference_id: reference_id.into(),
            order: OrderStatusUpdate {
                status,
                description: None,
            },
        }
    }

    /// Adds an explanation shown to the customer.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.order.description = Some(description.into());
        self
    }
}

/// The `order` member of an order-status message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatusUpdate {
    /// The new status.
    pub status: OrderStatus,
    /// Optional explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Interactive {
    /// A single product of `catalog_id` (body and footer optional, no header allowed).
    pub fn product(catalog_id: impl Into<String>, product_retailer_id: impl Into<String>) -> Self {
        Self::new(InteractiveKind::Product {
            action: ProductAction {
                catalog_id: catalog_id.into(),
                product_retailer_id: product_retailer_id.into(),
            },
        })
    }

    /// Several products of `catalog_id` in sections (a header is required).
    pub fn product_list(
        header: Header,
        body: impl Into<String>,
        catalog_id: impl Into<String>,
        sections: impl IntoIterator<Item = ProductSection>,
    ) -> Self {
        Self::new(InteractiveKind::ProductList {
            action: ProductListAction {
                catalog_id: catalog_id.into(),
                sections: sections.into_iter().collect(),
            },
        })
        .header(header)
        .body(body)
    }

    /// A button that opens the business's catalog.
    pub fn catalog_message(body: impl Into<String>, action: CatalogMessageAction) -> Self {
        Self::new(InteractiveKind::CatalogMessage { action }).body(body)
    }

    /// An order to review and pay.
    pub fn order_details(body: impl Into<String>, order: OrderDetails) -> Self {
        Self::new(InteractiveKind::OrderDetails {
            action: Box::new(OrderDetailsAction {
                name: tags::ReviewAndPay,
                parameters: order,
            }),
        })
        .body(body)
    }

    /// A status update for an earlier order.
    pub fn order_status(body: impl Into<String>, update: OrderStatusParameters) -> Self {
        Self::new(InteractiveKind::OrderStatus {
            action: OrderStatusAction {
                name: tags::ReviewOrder,
                parameters: update,
            },
        })
        .body(body)
    }
}
