"""Activities from the seed documents, with only the imports changed."""

from durable_workflows import activity


# Seed 001 / 002: the hello-world activity.
@activity.defn
def say_hello(name: str) -> str:
    return f"Hello, {name}!"


# Seed 003: an async activity that logs.
@activity.defn
async def compose_greeting(name: str) -> str:
    activity.logger.info(f"Composing greeting for {name}...")
    return f"Hello, {name}!"


# Seed 004: the order pipeline. The seed shows charge_card; the other three
# steps are the ones its text lists (update inventory, send email, ship).
@activity.defn
async def charge_card(amount: float) -> str:
    print(f"Charging ${amount}...")
    return f"Charged ${amount}"


@activity.defn
def update_inventory(order_id: str) -> str:
    return f"Inventory updated for {order_id}"


@activity.defn
def send_confirmation_email(order_id: str) -> str:
    return f"Confirmation email sent for {order_id}"


@activity.defn
def ship_order(order_id: str) -> str:
    return f"Shipment scheduled for {order_id}"


# Seed 001's signal example: a "User Verified Email" event lets the signup proceed.
@activity.defn
def send_welcome_email(email: str) -> str:
    return f"Welcome email sent to {email}"
