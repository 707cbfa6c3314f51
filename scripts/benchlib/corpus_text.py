"""Hotel-like synthetic text: topics, sentence templates and guest questions.

Sentences are drawn from templates with varied slot values, so a corpus of any size has the
vocabulary, length and topical clustering of a real hotel knowledge base.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TIMES = [
    "06:00",
    "06:30",
    "07:00",
    "07:30",
    "08:00",
    "09:00",
    "10:00",
    "11:00",
    "12:00",
    "14:00",
    "15:00",
    "16:00",
    "17:30",
    "18:00",
    "19:00",
    "21:00",
    "22:00",
    "23:00",
]
FLOORS = ["ground", "first", "second", "third", "fourth", "seventh", "top", "lower ground"]
PRICES = [
    "EUR 5",
    "EUR 8",
    "EUR 12",
    "EUR 15",
    "EUR 18",
    "EUR 25",
    "EUR 30",
    "EUR 35",
    "EUR 45",
    "EUR 60",
    "EUR 75",
    "EUR 95",
    "EUR 120",
]
AGES = ["4", "6", "12", "14", "16", "18"]
EXTENSIONS = ["0", "5", "7", "9", "21", "33", "410"]
PLACES = [
    "the old town",
    "the harbour",
    "the main station",
    "the airport",
    "the beach",
    "the ski lifts",
    "the conference centre",
    "the cathedral",
    "the lake",
    "the market",
]
MINUTES = ["3", "5", "10", "15", "20", "25", "40"]

# topic -> (heading variants, sentence templates, question templates)
TOPICS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "Check-in and check-out": (
        ["Arrival", "Departure", "Late check-out", "Early check-in", "Luggage"],
        [
            "Check-in is from {time} and check-out is by {time2}.",
            "Late check-out until {time} costs {price}, subject to availability.",
            "Early check-in from {time} can be requested at reception for {price}.",
            "Reception on the {floor} floor is open around the clock; dial {ext} from your room.",
            "Express check-out is available: leave your key card in the box at reception.",
            "Luggage can be stored at the concierge desk on the {floor} floor free of charge.",
            "Guests arriving after {time} should let reception know in advance.",
            "A valid photo ID and a credit card are required at check-in.",
        ],
        [
            "What time is check-in?",
            "When do I have to check out?",
            "Can I check out late?",
            "Is early check-in possible?",
            "Where can I leave my luggage after check-out?",
        ],
    ),
    "Breakfast": (
        ["Breakfast buffet", "Breakfast times", "Room service breakfast", "Dietary needs"],
        [
            "Breakfast is served from {time} to {time2} in the restaurant on the {floor} floor.",
            "On {day} breakfast is served until {time}.",
            "The breakfast buffet costs {price} per adult; children under {age} eat free.",
            "Gluten-free, vegan and lactose-free options are available on request.",
            "Continental breakfast can be delivered to your room for {price}; dial {ext}.",
            "Freshly baked pastries, local cheeses and eggs cooked to order are on the buffet.",
            "Coffee and tea to go are available at the lobby bar from {time}.",
        ],
        [
            "When is breakfast served?",
            "How much is breakfast?",
            "Is there vegan breakfast?",
            "Can I have breakfast in my room?",
            "Do children pay for breakfast?",
        ],
    ),
    "Restaurant": (
        ["Opening hours", "Menu", "Reservations", "Private dining", "Dress code"],
        [
            "The restaurant is open for dinner from {time} to {time2}, closed on {day}.",
            "Reservations are recommended; dial {ext} or ask at reception.",
            "The three-course menu of the day costs {price} per person.",
            "Children's menus are available for guests under {age}.",
            "The chef's tasting menu is served on {day} evenings for {price}.",
            "The dress code is smart casual; sportswear is not allowed after {time}.",
            "Private dining for up to {age} guests can be booked in the wine cellar.",
            "Lunch is served on the terrace from {time} when the weather allows.",
        ],
        [
            "When does the restaurant open?",
            "Do I need a reservation for dinner?",
            "Is there a children's menu?",
            "What is the dress code in the restaurant?",
            "How much is the menu of the day?",
        ],
    ),
    "Bar": (
        ["Lobby bar", "Rooftop bar", "Happy hour", "Live music"],
        [
            "The bar on the {floor} floor is open from {time} until {time2}.",
            "Happy hour runs from {time} to {time2} with cocktails at {price}.",
            "Live music is played on {day} evenings from {time}.",
            "Guests under {age} are not served alcohol.",
            "Bar snacks are served until {time}; the kitchen closes at {time2}.",
            "The rooftop bar closes in bad weather; the lobby bar stays open.",
        ],
        [
            "What time does the bar close?",
            "Is there a happy hour?",
            "Is there live music?",
            "Where is the rooftop bar?",
            "Can I get food at the bar late?",
        ],
    ),
    "Pool and spa": (
        ["Indoor pool", "Outdoor pool", "Sauna", "Treatments", "Day pass"],
        [
            "The pool on the {floor} floor is open daily from {time} to {time2}.",
            "Children under {age} may use the pool only until {time} with an adult.",
            "The sauna area is open from {time} to {time2} and is for guests aged {age} and over.",
            "A {minutes}-minute massage costs {price}; book at the spa reception or dial {ext}.",
            "Towels and bathrobes are provided at the spa reception.",
            "Visitors can buy a spa day pass for {price}, sold {day} to Friday.",
            "Cancellations less than {minutes} hours before a treatment are charged in full.",
            "The outdoor pool is heated to 28 °C from May to September.",
        ],
        [
            "When is the pool open?",
            "Can children use the pool?",
            "How much is a massage?",
            "Is the sauna mixed?",
            "Can I buy a spa day pass?",
        ],
    ),
    "Fitness": (
        ["Gym", "Classes", "Personal training"],
        [
            "The gym on the {floor} floor is open 24 hours a day with your key card.",
            "Yoga classes take place on {day} at {time} and cost {price}.",
            "A personal trainer can be booked for {price} per hour; dial {ext}.",
            "The gym has treadmills, bikes, a rowing machine and free weights.",
            "Guests under {age} may use the gym only with an adult.",
        ],
        [
            "Is the gym open at night?",
            "Are there yoga classes?",
            "Can I book a trainer?",
            "What equipment does the gym have?",
        ],
    ),
    "Parking": (
        ["Garage", "Electric vehicles", "Valet", "Public parking"],
        [
            "The hotel garage costs {price} per night; the entrance is behind the building.",
            "Electric vehicle chargers are on the {floor} level and cost {price} per charge.",
            "Valet parking is available from {time} to {time2} for {price}.",
            "Public parking near {place} costs {price} per day, a {minutes}-minute walk away.",
            "Vehicles over 2 metres high cannot enter the garage.",
            "Motorbikes park free of charge in the courtyard.",
        ],
        [
            "How much is parking?",
            "Can I charge my electric car?",
            "Is there valet parking?",
            "Where can I park a van?",
            "Is there public parking nearby?",
        ],
    ),
    "Wi-Fi and business": (
        ["Wi-Fi", "Business centre", "Meeting rooms", "Printing"],
        [
            "Free Wi-Fi covers the whole hotel; the password is printed on your key card holder.",
            "Premium Wi-Fi for streaming costs {price} per day.",
            "The business centre on the {floor} floor is open from {time} to {time2}.",
            "Meeting rooms for up to {age}0 people can be booked through the events team at {ext}.",
            "Printing and scanning are free at the business centre.",
        ],
        [
            "What is the Wi-Fi password?",
            "Is there a business centre?",
            "Can I print something?",
            "Can I book a meeting room?",
            "How fast is the Wi-Fi?",
        ],
    ),
    "Pets": (
        ["Pet policy", "Dogs", "Pet services"],
        [
            "Dogs are welcome for {price} per night, up to two per room.",
            "Pets are not allowed in the restaurant, the spa or the pool area.",
            "A dog bed and bowls can be provided on request; dial {ext}.",
            "A dog-walking service is available from {time} for {price}.",
            "Guide and assistance dogs are always welcome free of charge.",
        ],
        [
            "Can I bring my dog?",
            "How much do pets cost?",
            "Are cats allowed?",
            "Is there a dog-walking service?",
        ],
    ),
    "Rooms": (
        ["Room types", "Amenities", "Housekeeping", "Accessibility"],
        [
            "Superior rooms on the {floor} floor have a view over {place}.",
            "Every room has air conditioning, a safe, a minibar and a kettle.",
            "Housekeeping cleans rooms between {time} and {time2}; extra towels via {ext}.",
            "Accessible rooms with roll-in showers are on the {floor} floor.",
            "Extra beds for children under {age} cost {price} per night.",
            "Hypoallergenic pillows and an iron can be requested at reception.",
            "Family suites sleep up to four guests and have a separate living room.",
        ],
        [
            "Do rooms have air conditioning?",
            "Can I get an extra bed?",
            "Are there accessible rooms?",
            "When is housekeeping?",
            "Do rooms have a kettle?",
        ],
    ),
    "Getting here": (
        ["From the airport", "By train", "By car", "Shuttle"],
        [
            "The hotel is a {minutes}-minute taxi ride from {place}.",
            "A shuttle to {place} leaves every {minutes} minutes from {time} to {time2}.",
            "The shuttle costs {price} per person; book at reception the day before.",
            "From the station take tram 4 towards {place}; the stop is {minutes} minutes away.",
            "A taxi from the airport costs about {price}.",
        ],
        [
            "How do I get from the airport?",
            "Is there a shuttle?",
            "How much is a taxi?",
            "Which tram goes to the hotel?",
            "How far is the station?",
        ],
    ),
    "House policies": (
        ["Smoking", "Quiet hours", "Damages", "Payment", "Children"],
        [
            "Smoking is not allowed anywhere inside; a fine of {price} applies.",
            "Quiet hours are from {time} to {time2}.",
            "Guests under {age} must be accompanied by an adult at all times.",
            "We accept major credit cards; cash payments are limited to {price}.",
            "A city tax of {price} per person per night is charged at check-out.",
            "Parties and events in rooms are not permitted.",
        ],
        [
            "Can I smoke on the balcony?",
            "What are the quiet hours?",
            "Is there a city tax?",
            "Do you accept cash?",
            "Can teenagers stay alone?",
        ],
    ),
    "Local tips": (
        ["Sightseeing", "Shopping", "Activities", "Excursions"],
        [
            "The market at {place} is open on {day} from {time}.",
            "A guided walking tour leaves the lobby on {day} at {time} for {price}.",
            "Bikes can be rented at reception for {price} per day.",
            "{place} is a {minutes}-minute walk and worth a visit at sunset.",
            "Boat trips leave from {place} every {minutes} minutes in summer.",
            "Tickets for museums and concerts can be booked at the concierge desk.",
        ],
        [
            "What is there to do nearby?",
            "Can I rent a bike?",
            "Are there guided tours?",
            "When is the market open?",
            "Where do the boat trips leave from?",
        ],
    ),
    "Kids club": (
        ["Kids club", "Babysitting", "Playground"],
        [
            "The kids club for ages {age} to 12 is open from {time} to {time2}, free of charge.",
            "Babysitting costs {price} per hour and must be booked {minutes} hours in advance.",
            "The playground next to the pool is open until {time}.",
            "Cots and high chairs are free; ask at reception or dial {ext}.",
            "A children's movie night takes place on {day} at {time}.",
        ],
        [
            "Is there a kids club?",
            "Can I book a babysitter?",
            "Do you have cots?",
            "Is there a playground?",
            "What activities are there for children?",
        ],
    ),
    "Laundry and services": (
        ["Laundry", "Ironing", "Concierge", "Wake-up calls"],
        [
            "Laundry handed in before {time} is returned the same day; prices from {price}.",
            "Pressing a shirt costs {price}; an iron is available on request.",
            "The concierge on the {floor} floor books restaurants, tickets and taxis.",
            "Wake-up calls can be set from your room phone or by dialling {ext}.",
            "Umbrellas can be borrowed at reception free of charge.",
        ],
        [
            "Is there a laundry service?",
            "Can I get a shirt ironed?",
            "Can I book a wake-up call?",
            "Can I borrow an umbrella?",
        ],
    ),
}

QUESTION_OPENERS = [
    "",
    "Hi, ",
    "Hello! ",
    "Quick question: ",
    "Excuse me, ",
    "Hey, ",
    "Good morning, ",
    "Sorry to bother you, ",
]
QUESTION_CONTEXT = [
    "",
    " We arrive on {day}.",
    " I'm in room {room}.",
    " We are {n} adults.",
    " Travelling with {n} kids.",
    " It's for {day} evening.",
    " Thanks!",
    " Booking ref {room}.",
    " I'm staying {n} nights.",
]


def _fill(template: str, rng: random.Random) -> str:
    time1, time2 = sorted(rng.sample(TIMES, 2))
    return template.format(
        time=time1,
        time2=time2,
        day=rng.choice(DAYS),
        floor=rng.choice(FLOORS),
        price=rng.choice(PRICES),
        age=rng.choice(AGES),
        ext=rng.choice(EXTENSIONS),
        place=rng.choice(PLACES),
        minutes=rng.choice(MINUTES),
    )


def sentence_pool(per_topic: int, seed: int = 7) -> dict[str, list[str]]:
    """Up to ``per_topic`` distinct sentences per topic."""
    rng = random.Random(seed)
    pool: dict[str, list[str]] = {}
    for topic, (_, templates, _) in TOPICS.items():
        seen: dict[str, None] = {}
        attempts = 0
        while len(seen) < per_topic and attempts < per_topic * 20:
            seen[_fill(rng.choice(templates), rng)] = None
            attempts += 1
        pool[topic] = list(seen)
    return pool


def questions(property_ids: list[str], seed: int) -> Iterator[tuple[str, str]]:
    """An endless stream of (property, question); no two are the same after normalisation."""
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    topics = list(TOPICS.values())
    while True:
        _, _, asks = rng.choice(topics)
        context = rng.choice(QUESTION_CONTEXT).format(
            day=rng.choice(DAYS), room=rng.randint(100, 99999), n=rng.randint(2, 9)
        )
        opener, ask = rng.choice(QUESTION_OPENERS), rng.choice(asks)
        if opener.endswith(", "):
            ask = ask[0].lower() + ask[1:]
        text = opener + ask + context
        prop = rng.choice(property_ids)
        key = (prop, text.casefold())
        if key in seen:
            continue
        seen.add(key)
        yield prop, text
