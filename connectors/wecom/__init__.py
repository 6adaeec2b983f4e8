"""WeCom (企业微信): app messages, group robots and encrypted callbacks of one internal app."""
