package charge

import (
	"fmt"
	"strings"
)

// Money formats thousandths of a currency: "1,234.50 EUR"; "" when there is no currency.
func Money(milli int64, currency string) string {
	if currency == "" {
		return ""
	}
	return amount(milli) + " " + currency
}

// amount writes thousandths as a figure to the cent: "1,234.50".
func amount(milli int64) string {
	neg := milli < 0
	if neg {
		milli = -milli
	}
	cents := (milli + 5) / 10
	whole, frac := cents/100, cents%100
	s := fmt.Sprintf("%d", whole)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	sign := ""
	if neg {
		sign = "-"
	}
	return fmt.Sprintf("%s%s.%02d", sign, b.String(), frac)
}
