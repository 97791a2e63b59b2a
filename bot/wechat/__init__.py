"""WeChat channels: the Official Account for clients, WeCom for staff (adapters only)."""
