"""Workflows from the seed documents, with only the imports changed."""

from datetime import timedelta

from durable_workflows import RetryPolicy, workflow

with workflow.unsafe.imports_passed_through():
    from example_project.app.activities import (
        charge_card,
        compose_greeting,
        say_hello,
        send_confirmation_email,
        send_welcome_email,
        ship_order,
        update_inventory,
    )


# Seed 001 / 002.
@workflow.defn
class SayHello:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            say_hello, name, schedule_to_close_timeout=timedelta(seconds=5)
        )


# Seed 003.
@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        workflow.logger.info(f"Workflow started for name: {name}")
        result = await workflow.execute_activity(
            compose_greeting,
            name,
            start_to_close_timeout=timedelta(seconds=10),
        )
        return result


# Seed 003's second version, which sleeps first. Renamed only because both
# versions in the seed share one name.
@workflow.defn
class DelayedGreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        workflow.logger.info("Waiting for 10 seconds before starting...")
        # Durable sleep for 10 seconds
        await workflow.sleep(10)
        workflow.logger.info("10 seconds have passed. Executing activity.")
        result = await workflow.execute_activity(
            compose_greeting,
            name,
            start_to_close_timeout=timedelta(seconds=10),
        )
        return result


# Seed 004: charge the card, update the inventory, send the email, ship.
@workflow.defn(name="OrderWorkflow")
class OrderWorkflow:
    def __init__(self):
        self.status = "pending"

    @workflow.run
    async def run(self, order_id: str, amount: float) -> str:
        self.status = "charging"
        receipt = await workflow.execute_activity(
            charge_card,
            amount,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        self.status = "updating inventory"
        await workflow.execute_activity(
            update_inventory, order_id, start_to_close_timeout=timedelta(seconds=10)
        )
        self.status = "sending confirmation"
        await workflow.execute_activity(
            send_confirmation_email, order_id, start_to_close_timeout=timedelta(seconds=10)
        )
        self.status = "shipping"
        await workflow.execute_activity(
            ship_order, order_id, start_to_close_timeout=timedelta(seconds=10)
        )
        self.status = "shipped"
        return f"Order {order_id}: {receipt}"

    @workflow.query
    def get_status(self) -> str:
        return self.status


# Seed 001's "Signals (input)" and "Queries (output)": a signup waits for the
# "User Verified Email" event, then proceeds; its step can be asked at any time.
@workflow.defn
class SignupWorkflow:
    def __init__(self) -> None:
        self.verified = False
        self.resends = 0
        self.status = "waiting for email verification"

    @workflow.run
    async def run(self, email: str) -> str:
        try:
            await workflow.wait_condition(lambda: self.verified, timeout=timedelta(days=1))
        except TimeoutError:  # asyncio.TimeoutError is this class since Python 3.11
            self.status = "expired"
            return f"{email}: not verified within a day"
        self.status = "sending welcome email"
        sent = await workflow.execute_activity(
            send_welcome_email, email, start_to_close_timeout=timedelta(seconds=10)
        )
        self.status = "active"
        return sent

    @workflow.signal
    def email_verified(self) -> None:
        self.verified = True

    @workflow.update
    def resend_code(self) -> int:
        """Ask for another verification email; returns how many were asked for."""
        self.resends += 1
        return self.resends

    @resend_code.validator
    def _check_resend(self) -> None:
        if self.verified:
            raise ValueError("Already verified: no code to resend.")

    @workflow.query
    def get_status(self) -> str:
        return self.status


# Seed 004's "Practical Example: Complete Order Workflow", verbatim but for imports.
# fmt: off
@workflow.defn(name="ProcessOrder")
class ProcessOrderWorkflow:
    @workflow.run
    async def run(self, order_id: str, amount: float) -> str:
        result = await workflow.execute_activity(
            charge_card,
            amount,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(max_attempts=3)
        )
        return f"Order {order_id}: {result}"
# fmt: on
