"""HTTP fakes of remote platforms (cart APIs), served for real on loopback."""
